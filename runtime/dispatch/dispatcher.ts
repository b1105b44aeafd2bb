import { format } from 'node:util'
import {
  clientOver,
  createClientContext,
  finishExpiries,
  ingestMessage,
  pendingEvents,
  releaseScheduledEvent,
  ResourceNotFoundError,
  setEventStatus,
  takeExpiredStates,
  unfinishedExpiries,
  type Client,
  type ClientContext,
  type Event,
  type DueExpiry,
  type Message,
  type State,
} from '../client/index.ts'
import type { LoadedBot } from '../bots/loader.ts'
import type { Logger } from '../log.ts'
import type { Registration } from '../sdk/bot.ts'
import type { BotLogger } from '../sdk/typed.ts'
import { Locks } from '../store/lock.ts'
import type { Store } from '../store/store.ts'
import type { Clock } from '../time/clock.ts'
import type { Bus } from './bus.ts'

/** A message sent to a bot from outside (REPL, HTTP, tests). */
export type SendMessage = { userId: string; conversationId?: string; type?: string; payload: Record<string, unknown> }
/** An event sent to a bot from outside. */
export type SendEvent = { type: string; payload?: Record<string, unknown>; conversationId?: string; userId?: string }

/** One bot as the dispatcher runs it: its code (replaced on reload) and its client context (kept). */
type BotRuntime = { loaded: LoadedBot; ctx: ClientContext; client: Client }

/**
 * Turns messages, events and expiries into handler calls. One conversation's work runs one piece at a
 * time in arrival order; different conversations run concurrently. A throwing handler is logged and the
 * next one runs.
 */
export class Dispatcher {
  private readonly bots = new Map<string, BotRuntime>()
  private readonly queues = new Locks()
  private readonly inFlight = new Set<Promise<unknown>>()

  constructor(private readonly options: { store: Store; clock: Clock; bus: Bus; logger: Logger }) {}

  /** Adds a bot, or replaces its code (a reload): its data and client context stay. */
  setBot(loaded: LoadedBot): void {
    const existing = this.bots.get(loaded.id)
    const ctx = createClientContext({ store: this.options.store, botId: loaded.id, clock: this.options.clock, states: loaded.states })
    if (existing) ctx.ids = existing.ctx.ids
    this.bots.set(loaded.id, { loaded, ctx, client: clientOver(ctx) })
  }

  /** The ids of the running bots. */
  botIds(): string[] {
    return [...this.bots.keys()]
  }

  /** The loaded bot of an id. */
  botOf(botId: string): LoadedBot | undefined {
    return this.bots.get(botId)?.loaded
  }

  /** A bot's plain client, for faces that read its data. */
  clientOf(botId: string): Client {
    return this.runtimeOf(botId).client
  }

  /** Stores a user's message and runs the bot's message handlers; resolves once all have finished. */
  sendMessage(botId: string, input: SendMessage): Promise<{ conversationId: string; userId: string; message: Message; replies: Message[] }> {
    const conversationId = input.conversationId ?? this.runtimeOf(botId).ctx.ids('conv')
    return this.track(
      this.queues.run(queueKey(botId, conversationId), async () => {
        // The code of the moment the message's turn comes: a reload meanwhile serves it.
        const runtime = this.runtimeOf(botId)
        const { user, conversation, message } = await ingestMessage(runtime.ctx, {
          userId: input.userId,
          conversationId,
          type: input.type ?? 'text',
          payload: input.payload,
        })
        this.options.bus.emit('incoming', { botId, message })
        const replies: Message[] = []
        const event: Event = {
          id: message.id.replace(/^msg_/, 'evt_'),
          createdAt: message.createdAt,
          type: 'message_created',
          payload: { message, user, conversation },
          conversationId,
          userId: user.id,
          messageId: message.id,
          status: 'pending',
          failureReason: null,
        }
        const fields = { bot: botId, conversation: conversationId, message: message.id, user: user.id }
        const handlers = runtime.loaded.bot.handlersFor('message', message.type)
        await this.runHandlers(runtime, handlers, 'message_created', fields, replies, conversationId, { message, user, conversation, event })
        // Answer only once the turn's writes are in LevelDB.
        await this.options.store.flush()
        this.options.logger.info('message handled', { ...fields, handlers: handlers.length, replies: replies.length })
        return { conversationId, userId: user.id, message, replies }
      }),
    )
  }

  /** Stores an event and runs the bot's event handlers; resolves with the event (status processed/failed/ignored) and the replies. */
  async sendEvent(botId: string, input: SendEvent): Promise<{ event: Event; replies: Message[] }> {
    const runtime = this.runtimeOf(botId)
    const { event } = await runtime.client.createEvent({ ...input, payload: input.payload ?? {} })
    return this.runEvent(botId, event)
  }

  /** Runs the event handlers of a stored event (one created by a handler, or scheduled and now due). */
  runEvent(botId: string, event: Event): Promise<{ event: Event; replies: Message[] }> {
    const runtime = this.runtimeOf(botId)
    const work = async () => {
      const replies: Message[] = []
      const handlers = runtime.loaded.bot.handlersFor('event', event.type)
      const fields = { bot: botId, event: event.id, type: event.type, conversation: event.conversationId }
      const failures = await this.runHandlers(runtime, handlers, event.type, fields, replies, event.conversationId, { event })
      const status = handlers.length === 0 ? 'ignored' : failures.length > 0 ? 'failed' : 'processed'
      const done = await setEventStatus(runtime.ctx, event.id, status, failures[0] ?? null)
      await this.options.store.flush()
      this.options.logger.info('event handled', { ...fields, status, handlers: handlers.length })
      this.options.bus.emit('event', { botId, event: done })
      return { event: done, replies }
    }
    const key = event.conversationId === undefined ? `${botId}\u0000event:${event.id}` : queueKey(botId, event.conversationId)
    return this.track(this.queues.run(key, work))
  }

  /** Runs the bot's stateExpired handlers for a state that has expired (and is already deleted). */
  runStateExpired(botId: string, state: State): Promise<void> {
    const runtime = this.runtimeOf(botId)
    const key = state.type === 'conversation' ? queueKey(botId, state.id) : `${botId}\u0000state:${state.type}:${state.id}`
    return this.track(
      this.queues.run(key, async () => {
        const handlers = runtime.loaded.bot.handlersFor('stateExpired', state.name)
        const fields = { bot: botId, state: state.name, type: state.type, id: state.id }
        const conversationId = state.type === 'conversation' ? state.id : undefined
        await this.runHandlers(runtime, handlers, 'state_expired', fields, [], conversationId, { state })
        this.options.bus.emit('stateExpired', { botId, state })
      }),
    )
  }

  /**
   * Expires states whose time has come: deletes them (keeping them aside) in one batch, runs the bot's
   * stateExpired handlers, then forgets them. A crash in between replays the handlers at the next start.
   */
  async expire(botId: string, due: DueExpiry[]): Promise<void> {
    const runtime = this.runtimeOf(botId)
    const states = await takeExpiredStates(runtime.ctx, due)
    await Promise.all(states.map((state) => this.runStateExpired(botId, state)))
    await finishExpiries(runtime.ctx, states)
    await this.options.store.flush()
  }

  /** Runs a scheduled event whose time has come. */
  async releaseEvent(botId: string, eventId: string, at: number): Promise<void> {
    const event = await releaseScheduledEvent(this.runtimeOf(botId).ctx, eventId, at)
    if (event) await this.runEvent(botId, event)
  }

  /** Fires a cron schedule's event. */
  async fireCron(botId: string, type: string, payload: Record<string, unknown>): Promise<void> {
    await this.sendEvent(botId, { type, payload })
  }

  /** Whether a bot runs. */
  has(botId: string): boolean {
    return this.bots.has(botId)
  }

  /** Runs what a stop interrupted: stateExpired handlers of states already deleted, and pending events. */
  async replayUnfinished(botId: string): Promise<void> {
    const runtime = this.runtimeOf(botId)
    const unfinished = await unfinishedExpiries(runtime.ctx)
    for (const state of unfinished) await this.runStateExpired(botId, state)
    await finishExpiries(runtime.ctx, unfinished)
    for (const event of await pendingEvents(runtime.ctx)) await this.runEvent(botId, event)
  }

  /** Resolves once no handler is running or queued. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  private runtimeOf(botId: string): BotRuntime {
    const runtime = this.bots.get(botId)
    if (!runtime) throw new ResourceNotFoundError(`bot ${JSON.stringify(botId)} not found`)
    return runtime
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work)
    const done = () => this.inFlight.delete(work)
    work.then(done, done)
    return work
  }

  /** Runs handlers one after another; returns the failure messages. */
  private async runHandlers(
    runtime: BotRuntime,
    handlers: Registration[],
    type: string,
    fields: Record<string, unknown>,
    replies: Message[],
    conversationId: string | undefined,
    props: Record<string, unknown>,
  ): Promise<string[]> {
    const failures: string[] = []
    const client = this.handlerClient(runtime, replies, conversationId)
    const ctx = { botId: runtime.loaded.id, type, operation: 'event_received' as const, configuration: { payload: '{}' } }
    for (const registration of handlers) {
      const logger = this.options.logger.child({ ...fields, handler: registration.label })
      try {
        await registration.handler({ client, ctx, logger: botLogger(logger), ...props })
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        failures.push(message)
        logger.error('handler failed', { error: message, stack: error instanceof Error ? error.stack : undefined })
      }
    }
    return failures
  }

  /**
   * The client a handler gets: the bot's, plus replies announced on the bus (and collected for the
   * caller when they are in `conversationId`), and events created without a schedule run at once.
   */
  private handlerClient(runtime: BotRuntime, replies: Message[], conversationId: string | undefined): Client {
    const botId = runtime.loaded.id
    return {
      ...runtime.client,
      createMessage: async (input) => {
        const result = await runtime.client.createMessage(input)
        if (result.message.direction === 'outgoing') {
          if (result.message.conversationId === conversationId) replies.push(result.message)
          this.options.bus.emit('reply', { botId, message: result.message })
        }
        return result
      },
      createEvent: async (input) => {
        const result = await runtime.client.createEvent(input)
        // Not awaited: the handler that created it may hold the conversation's queue.
        if (result.event.status === 'pending') void this.runEvent(botId, result.event).catch(() => undefined)
        return result
      },
    }
  }
}

function queueKey(botId: string, conversationId: string): string {
  return `${botId}\u0000conversation:${conversationId}`
}

function botLogger(logger: Logger): BotLogger {
  return {
    debug: (...args) => logger.debug(format(...args)),
    info: (...args) => logger.info(format(...args)),
    warn: (...args) => logger.warn(format(...args)),
    error: (...args) => logger.error(format(...args)),
  }
}

