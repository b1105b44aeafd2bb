import type { Message } from './client/index.ts'
import type { ActionCall } from './dispatch/actions.ts'
import type { Bus } from './dispatch/bus.ts'
import type { LogFields, Logger, LogLevel } from './log.ts'
import { decodeKey } from './store/keys.ts'
import type { Op, Store } from './store/store.ts'
import type { Clock } from './time/clock.ts'

/**
 * What a bot did, in order, for the console and scripts: the messages it got and sent, its events, every
 * change to its states (expiries included), its integration action calls, and its log lines. The latest
 * entries of each bot are kept in memory (`KEPT`) for late listeners; nothing here is stored.
 */

/** What an entry is about. */
export type TimelineKind = 'incoming' | 'reply' | 'event' | 'state' | 'expired' | 'action' | 'log'

/** One thing a bot did: `summary` is a line of text, `data` the record as JSON. */
export type TimelineEntry = {
  /** Increases by one with each entry of the runtime: a listener resumes after the last one it saw. */
  seq: number
  at: string
  botId: string
  kind: TimelineKind
  conversationId?: string
  userId?: string
  /** For a log line: its level. */
  level?: LogLevel
  summary: string
  data: unknown
}

/** Entries kept per bot for listeners that come later. */
const KEPT = 500

/** A summary's longest text. */
const SUMMARY_CHARS = 200

const cut = (text: string) => (text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS - 1)}…` : text)

/** A message's text, or its type. */
function messageText(message: Message): string {
  const payload = message.payload as Record<string, unknown>
  const text = payload.text ?? payload.markdown
  return typeof text === 'string' ? text : `[${message.type}]`
}

export class Timeline {
  private seq = 0
  private readonly kept = new Map<string, TimelineEntry[]>()
  private readonly listeners = new Map<string, Set<(entry: TimelineEntry) => void>>()

  constructor(private readonly options: { bus: Bus; store: Store; clock: Clock }) {
    const { bus } = options
    bus.on('incoming', ({ botId, message }) =>
      this.add(botId, 'incoming', `${message.userId}: ${cut(messageText(message))}`, message, { conversationId: message.conversationId, userId: message.userId }),
    )
    bus.on('reply', ({ botId, message }) => this.add(botId, 'reply', `bot: ${cut(messageText(message))}`, message, { conversationId: message.conversationId }))
    bus.on('event', ({ botId, event }) =>
      this.add(botId, 'event', `${event.type} ${event.status}${event.failureReason ? `: ${cut(event.failureReason)}` : ''}`, event, {
        conversationId: event.conversationId ?? undefined,
        userId: event.userId ?? undefined,
      }),
    )
    bus.on('stateExpired', ({ botId, state }) => this.add(botId, 'expired', `${state.type} ${state.id} ${state.name} expired`, state))
    bus.on('action', (call: ActionCall) =>
      this.add(call.botId, 'action', `${call.type} ${call.error ? `failed: ${cut(call.error)}` : `answered by ${call.answeredBy === 'mock' ? 'its mock' : 'its schema'}`}`, call),
    )
    options.store.observe((ops) => this.observeStates(ops))
  }

  /** The kept entries of a bot after `since` (a `seq`), oldest first. */
  entries(botId: string, since = 0): TimelineEntry[] {
    return (this.kept.get(botId) ?? []).filter((entry) => entry.seq > since)
  }

  /** Calls `listener` with each new entry of a bot; returns a function that stops it. */
  subscribe(botId: string, listener: (entry: TimelineEntry) => void): () => void {
    let set = this.listeners.get(botId)
    if (!set) this.listeners.set(botId, (set = new Set()))
    set.add(listener)
    return () => void set.delete(listener)
  }

  /** A logger that also puts the lines about a bot (those with a `bot` field), at info and above, in its timeline. */
  tap(logger: Logger, fields: LogFields = {}): Logger {
    const line = (level: LogLevel) => (message: string, more?: LogFields) => {
      logger[level as 'info'](message, more)
      const all = { ...fields, ...more }
      if (level !== 'debug' && typeof all.bot === 'string')
        this.add(all.bot, 'log', cut(message), { level, message, ...all }, {
          level,
          conversationId: typeof all.conversation === 'string' ? all.conversation : undefined,
          userId: typeof all.user === 'string' ? all.user : undefined,
        })
    }
    return {
      debug: line('debug'),
      info: line('info'),
      warn: line('warn'),
      error: line('error'),
      child: (more) => this.tap(logger.child(more), { ...fields, ...more }),
    }
  }

  /** State records written or deleted: `['b', bot, 'S', type, id, name]`. */
  private observeStates(ops: Op[]): void {
    for (const op of ops) {
      if (!op.key.startsWith('b\u0000')) continue
      const segments = decodeKey(op.key)
      if (segments[2] !== 'S' || segments.length !== 6) continue
      const [, botId, , type, id, name] = segments as [string, string, string, string, string, string]
      const conversationId = type === 'conversation' ? id : undefined
      const userId = type === 'user' ? id : undefined
      if (op.type === 'del') this.add(botId, 'state', `${type} ${id} ${name} deleted`, { type, id, name, deleted: true }, { conversationId, userId })
      else {
        let state: Record<string, unknown> = {}
        try {
          state = JSON.parse(op.value) as Record<string, unknown>
        } catch {
          // Not JSON: shown by its key alone.
        }
        this.add(botId, 'state', `${type} ${id} ${name} = ${cut(JSON.stringify(state.payload ?? null))}`, { ...state, type, id, name }, { conversationId, userId })
      }
    }
  }

  private add(botId: string, kind: TimelineKind, summary: string, data: unknown, where: Partial<Pick<TimelineEntry, 'conversationId' | 'userId' | 'level'>> = {}): void {
    const entry: TimelineEntry = { seq: ++this.seq, at: new Date(this.options.clock.now()).toISOString(), botId, kind, summary, data }
    if (where.conversationId !== undefined) entry.conversationId = where.conversationId
    if (where.userId !== undefined) entry.userId = where.userId
    if (where.level !== undefined) entry.level = where.level
    let kept = this.kept.get(botId)
    if (!kept) this.kept.set(botId, (kept = []))
    kept.push(entry)
    if (kept.length > KEPT) kept.splice(0, kept.length - KEPT)
    for (const listener of this.listeners.get(botId) ?? []) listener(entry)
  }
}
