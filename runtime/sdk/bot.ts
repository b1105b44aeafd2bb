import type { BotDefinition } from './definition.ts'
import type { EventHandler, MessageHandler, StateExpiredHandler } from './typed.ts'

/** The kinds of handler a bot registers with `bot.on.KIND(key, handler)`. */
export const handlerKinds = ['message', 'event', 'stateExpired'] as const
/** One kind of handler. */
export type HandlerKind = (typeof handlerKinds)[number]

type HandlerOf<D> = { message: MessageHandler<D>; event: EventHandler<D>; stateExpired: StateExpiredHandler<D> }

/** One `bot.on.KIND(key, handler)` call; `key` is a message type, an event type, a state name or '*'. */
export type Registration = { kind: HandlerKind; key: string; handler: (props: any) => unknown; label: string }

/** What `new bp.Bot({...})` takes. Actions and plugins are accepted; localbot does not call them. */
export type BotProps = { actions?: Record<string, unknown>; plugins?: unknown; register?: unknown }

/** A bot: handlers registered with `bot.on.message/event/stateExpired`, as Botpress's `bp.Bot`. */
export class Bot<D = BotDefinition> {
  readonly registrations: Registration[] = []
  readonly on: { [K in HandlerKind]: (key: string, handler: HandlerOf<D>[K]) => void }

  constructor(readonly props: BotProps = { actions: {} }) {
    const on = {} as Record<HandlerKind, (key: string, handler: (props: any) => unknown) => void>
    for (const kind of handlerKinds) {
      on[kind] = (key, handler) => {
        if (typeof key !== 'string' || key === '') throw new TypeError(`bot.on.${kind}: the first argument must be a ${kind === 'stateExpired' ? 'state name' : 'type'} or '*'`)
        if (typeof handler !== 'function') throw new TypeError(`bot.on.${kind}(${JSON.stringify(key)}): the handler must be a function`)
        const index = this.registrations.filter((r) => r.kind === kind && r.key === key).length
        this.registrations.push({ kind, key, handler, label: handler.name || `on.${kind}(${JSON.stringify(key)})#${index + 1}` })
      }
    }
    this.on = on as Bot<D>['on']
  }

  /** The handlers for one message type, event type or state name: the key's and '*', in registration order. */
  handlersFor(kind: HandlerKind, key: string): Registration[] {
    return this.registrations.filter((r) => r.kind === kind && (r.key === key || r.key === '*'))
  }
}
