import {
  clientOver,
  createClientContext,
  finishExpiries,
  ingestMessage,
  pendingEvents,
  releaseScheduledEvent,
  InvalidPayloadError,
  ResourceNotFoundError,
  setEventStatus,
  tablesOf,
  takeExpiredStates,
  unfinishedExpiries,
  isUnfinishedExpiry,
  newEvent,
  newEventOps,
  type Client,
  type ClientContext,
  type Conversation,
  type Event,
  type DueExpiry,
  type FileLinks,
  type Message,
  type State,
  type User,
} from '../client/index.ts'
import { messageText } from '../client/messages.ts'
import { timeOutWorkflow } from '../client/workflows.ts'
import type { LoadedBot } from '../bots/loader.ts'
import { ApiBridge } from '../host/api-bridge.ts'
import { Actions } from './actions.ts'
import { routeOf } from './channels.ts'
import { Supervisor, type HandlerCall } from '../host/supervisor.ts'
import { mergeFields, type Logger } from '../log.ts'
import { actionTriggered, eventReceived, messageCreated, outcomeOf, register, requestOf, stateExpired, workflowUpdate, type Operation, type WorkflowUpdate } from '../host/protocol.ts'
import type { Store } from '../store/store.ts'
import type { Clock } from '../time/clock.ts'
import type { Bus } from './bus.ts'
import type { CronClaim } from '../time/keeper.ts'

/** A message sent to a bot from outside (REPL, HTTP, tests). */
export type SendMessage = {
  userId: string
  conversationId?: string
  type?: string
  payload: Record<string, unknown>
  /** The integration (its alias in the bot's definition) and channel it comes through; see channels.ts. */
  integration?: string
  channel?: string
  /** Tags of a new conversation and user, and of the message. */
  tags?: { conversation?: Record<string, string>; user?: Record<string, string>; message?: Record<string, string> }
}
/** An event sent to a bot from outside. */
export type SendEvent = { type: string; payload?: Record<string, unknown>; conversationId?: string; userId?: string }

/**
 * One bot as the dispatcher runs it: its code (replaced on reload), its client context (kept), the plain
 * client over it, and the client faces and tests get (see `handlerClient`).
 */
type BotRuntime = { loaded: LoadedBot; ctx: ClientContext; plain: Client; client: Client }

/** How a turn's handlers ended: the failures' messages, whether one ran past its time limit, and the answer's body. */
type TurnOutcome = { failures: string[]; timedOut: boolean; body?: unknown }

/** What the replay of unfinished work leaves alone: records whose handlers spun at the last run. */
export type ReplayOptions = { skip?: Set<string> }

/** Pieces of replayed work of one bot run at once. */
const REPLAY_CONCURRENCY = 16

/** The record key the watchdog names for an event's handlers (messages included). */
export const eventRecord = (eventId: string) => `event:${eventId}`
/** The record key the watchdog names for an expired state's handlers. */
export const expiryRecord = (state: Pick<State, 'type' | 'id' | 'name'>) => `expired:${state.type}:${state.id}:${state.name}`

/**
 * Turns messages, events and expiries into calls of the bot's handler, as Botpress Cloud does. One
 * conversation's work runs one piece at a time in arrival order; different conversations run concurrently.
 * Every call goes through the supervisor: a handler that throws ends that call (as in Botpress, the
 * handlers after it do not run) and is logged; one that runs past its time limit is logged and abandoned,
 * its conversation moves on, and its record (the pending event, the expired state kept aside) stays so that
 * it runs again at the next start.
 */
export class Dispatcher {
  private readonly bots = new Map<string, BotRuntime>()
  private readonly inFlight = new Set<Promise<unknown>>()
  readonly supervisor: Supervisor
  /** Where every bot's file URLs point: the HTTP face sets the origin once it listens. */
  readonly fileLinks: FileLinks = {}
  /** Integrations' and simulated plugins' actions: mocks, and the record of calls. */
  readonly actions: Actions
  /** The API for bots whose SDK reads `BP_API_URL` instead of taking a client; listens once one is called. */
  private readonly bridge: ApiBridge

  constructor(private readonly options: { store: Store; clock: Clock; bus: Bus; logger: Logger; supervisor?: Supervisor; strictActions?: boolean }) {
    this.supervisor = options.supervisor ?? new Supervisor()
    this.actions = new Actions({ logger: options.logger, bus: options.bus, clock: options.clock, strict: options.strictActions })
    this.bridge = new ApiBridge({ clientOf: (botId) => this.bots.get(botId)?.client, logger: options.logger })
  }

  /** Adds a bot, or replaces its code (a reload): its data and client context stay. */
  setBot(loaded: LoadedBot): void {
    const existing = this.bots.get(loaded.id)
    const ctx = createClientContext({ store: this.options.store, botId: loaded.id, clock: this.options.clock, states: loaded.states, tables: tablesOf(loaded.definition), files: this.fileLinks, expiryUnit: loaded.expiryUnit, logger: this.options.logger.child({ bot: loaded.id }) })
    if (existing) ctx.ids = existing.ctx.ids
    ctx.expired = (states) => void this.track(this.finishExpired(loaded.id, states))
    // The bot's own actions, and its running plugins' (`hitl#startHitl`), run on the bot, as the cloud sends them
    // back; integrations' and simulated plugins' actions are answered by mocks.
    ctx.callAction = (type, input) => {
      const current = this.runtimeOf(loaded.id).loaded
      return isOwnAction(current, type)
        ? this.triggerAction(loaded.id, type, input)
        : this.actions.call(loaded.id, current.actions, type, input, this.runtimeOf(loaded.id).client).then((r) => r.output)
    }
    const plain = clientOver(ctx)
    const runtime: BotRuntime = { loaded, ctx, plain, client: plain }
    runtime.client = this.handlerClient(runtime, [], undefined)
    this.bots.set(loaded.id, runtime)
    this.supervisor.setBotDir(loaded.id, loaded.dir)
  }

  /** The ids of the running bots. */
  botIds(): string[] {
    return [...this.bots.keys()]
  }

  /** The loaded bot of an id. */
  botOf(botId: string): LoadedBot | undefined {
    return this.bots.get(botId)?.loaded
  }

  /** A bot's client, for faces and tests: replies it creates are announced, events it creates run. */
  clientOf(botId: string): Client {
    return this.runtimeOf(botId).client
  }

  /** Stores a user's message and runs the bot's message handlers; resolves once all have finished. */
  sendMessage(botId: string, input: SendMessage): Promise<{ conversationId: string; userId: string; message: Message; event: Event; replies: Message[] }> {
    const conversationId = input.conversationId ?? this.runtimeOf(botId).ctx.ids('conv')
    return this.track(
      this.options.store.turn(queueKey(botId, conversationId), async () => {
        // The code of the moment the message's turn comes: a reload meanwhile serves it.
        const runtime = this.runtimeOf(botId)
        const type = input.type ?? 'text'
        const { user, conversation, message, event } = await ingestMessage(runtime.ctx, {
          userId: input.userId,
          conversationId,
          type,
          payload: input.payload,
          route: routeOf(botId, runtime.loaded.definition, { integration: input.integration, channel: input.channel, type, payload: input.payload }),
          tags: input.tags,
        })
        this.options.bus.emit('incoming', { botId, message })
        const handled = await this.handleMessage(runtime, event, { message, user, conversation })
        return { conversationId, userId: user.id, message, event: handled.event, replies: handled.replies }
      }),
    )
  }

  /** Runs the message handlers of a stored message whose `message_created` event is still pending (replay). */
  private runStoredMessage(botId: string, event: Event): Promise<void> {
    return this.track(
      this.options.store.turn(queueKey(botId, event.conversationId!), async () => {
        const runtime = this.runtimeOf(botId)
        const client = runtime.client
        // Another process on the database may have handled it since it was listed.
        if ((await this.currentEvent(runtime, event.id))?.status !== 'pending') return
        try {
          const [{ message }, { user }, { conversation }] = await Promise.all([
            client.getMessage({ id: event.messageId! }),
            client.getUser({ id: event.userId! }),
            client.getConversation({ id: event.conversationId! }),
          ])
          await this.handleMessage(runtime, event, { message, user, conversation })
        } catch (error) {
          if (!(error instanceof ResourceNotFoundError)) throw error
          // Deleted since: nothing left to handle.
          await setEventStatus(runtime.ctx, event.id, 'ignored', (error as Error).message)
        }
      }),
    )
  }

  /** Runs a message's handlers within its conversation's turn, then records how they ended; returns the replies. */
  private async handleMessage(runtime: BotRuntime, event: Event, records: { message: Message; user: User; conversation: Conversation }): Promise<{ event: Event; replies: Message[] }> {
    const { message, user, conversation } = records
    const botId = runtime.loaded.id
    const replies: Message[] = []
    const fields = { bot: botId, conversation: conversation.id, message: message.id, user: user.id }
    const handlers = countOf(runtime.loaded.bot.messageHandlers, message.type) + hooksOf(runtime.loaded.bot, ['before_incoming_message', 'after_incoming_message'], message.type)
    const outcome = await this.callBot(runtime, messageCreated(event, { message, user, conversation }), {
      handler: `on.message(${JSON.stringify(message.type)})`,
      fields,
      record: eventRecord(event.id),
      replies,
      conversationId: conversation.id,
    })
    const settled = await this.settleEvent(runtime, event, handlers, outcome)
    // Answer only once the turn's writes are in LevelDB.
    await this.options.store.flush()
    this.options.logger.info('message handled', mergeFields(fields, { handlers, text: messageText(message, LOGGED_TEXT), replies: replies.map((reply) => messageText(reply, LOGGED_TEXT)) }))
    return { event: settled, replies }
  }

  /**
   * Records how an event's handlers ended: processed, failed (the first failure as its reason), ignored
   * (no handler); a handler past its time limit leaves it pending, to run again at the next start.
   */
  private async settleEvent(runtime: BotRuntime, event: Event, handlers: number, outcome: TurnOutcome): Promise<Event> {
    if (outcome.timedOut) return event
    const status = handlers === 0 ? 'ignored' : outcome.failures.length > 0 ? 'failed' : 'processed'
    return setEventStatus(runtime.ctx, event.id, status, outcome.failures[0] ?? null, event)
  }

  /** Stores an event and runs the bot's event handlers; resolves with the event (status processed/failed/ignored) and the replies. */
  async sendEvent(botId: string, input: SendEvent): Promise<{ event: Event; replies: Message[] }> {
    const runtime = this.runtimeOf(botId)
    const { event } = await runtime.plain.createEvent({ ...input, payload: input.payload ?? {} })
    return this.runEvent(botId, event)
  }

  /** Runs the event handlers of a stored event (one created by a handler, or scheduled and now due). */
  runEvent(botId: string, event: Event): Promise<{ event: Event; replies: Message[] }> {
    const runtime = this.runtimeOf(botId)
    const work = async () => {
      // Run once: another process on the database may have run it while this one waited for the turn.
      const current = await this.currentEvent(runtime, event.id)
      if (current?.status !== 'pending') return { event: current ?? event, replies: [] }
      const replies: Message[] = []
      const handlers = countOf(runtime.loaded.bot.eventHandlers, event.type) + hooksOf(runtime.loaded.bot, ['before_incoming_event', 'after_incoming_event'], event.type)
      const fields = { bot: botId, event: event.id, type: event.type, conversation: event.conversationId }
      const outcome = await this.callBot(runtime, eventReceived(event), {
        handler: `on.event(${JSON.stringify(event.type)})`,
        fields,
        record: eventRecord(event.id),
        replies,
        conversationId: event.conversationId,
      })
      const done = await this.settleEvent(runtime, event, handlers, outcome)
      await this.options.store.flush()
      this.options.logger.info('event handled', mergeFields(fields, { status: done.status, handlers }))
      this.options.bus.emit('event', { botId, event: done })
      return { event: done, replies }
    }
    const key = event.conversationId === undefined ? `${botId}\u0000event:${event.id}` : queueKey(botId, event.conversationId)
    return this.track(this.options.store.turn(key, work))
  }

  /**
   * Runs the bot's stateExpired handlers for a state that has expired (and is already deleted, kept aside),
   * then forgets it; false if one timed out (it stays kept aside, to run again).
   */
  runStateExpired(botId: string, state: State): Promise<boolean> {
    const runtime = this.runtimeOf(botId)
    const key = state.type === 'conversation' ? queueKey(botId, state.id) : `${botId}\u0000state:${state.type}:${state.id}`
    return this.track(
      this.options.store.turn(key, async () => {
        // Another process on the database may have run its handlers while this one waited for the turn.
        if (!(await isUnfinishedExpiry(runtime.ctx, state))) return true
        const fields = { bot: botId, state: state.name, type: state.type, id: state.id }
        const conversationId = state.type === 'conversation' ? state.id : undefined
        const outcome = await this.callBot(runtime, stateExpired(state, new Date(this.options.clock.now()).toISOString()), {
          handler: `on.stateExpired(${JSON.stringify(state.name)})`,
          fields,
          record: expiryRecord(state),
          replies: [],
          conversationId,
        })
        this.options.bus.emit('stateExpired', { botId, state })
        // Forgotten within the turn, so that whoever takes the turn next finds nothing to run again.
        if (!outcome.timedOut) await finishExpiries(runtime.ctx, [state])
        return !outcome.timedOut
      }),
    )
  }

  /**
   * Expires states whose time has come: deletes them (keeping them aside) in one batch, runs the bot's
   * stateExpired handlers, then forgets those whose handlers finished. A crash in between, or a handler
   * past its time limit, replays the handlers at the next start.
   */
  async expire(botId: string, due: DueExpiry[]): Promise<void> {
    const runtime = this.runtimeOf(botId)
    const states = await takeExpiredStates(runtime.ctx, due)
    await this.finishExpired(botId, states)
  }

  /** Runs the handlers of states already kept aside as expired; each is forgotten once its handlers finished. */
  private async finishExpired(botId: string, states: State[]): Promise<void> {
    await Promise.all(states.map((state) => this.runStateExpired(botId, state)))
    await this.options.store.flush()
  }

  /** Tells a bot it is deployed (Botpress's `register` operation): its `register` handler runs. */
  register(botId: string): Promise<void> {
    const runtime = this.runtimeOf(botId)
    return this.track(
      (async () => {
        await this.callBot(runtime, register(), { handler: 'register', fields: { bot: botId }, record: `register:${botId}`, replies: [], conversationId: undefined })
        await this.options.store.flush()
      })(),
    )
  }

  /** Calls one of the bot's actions as Botpress Cloud does (`action_triggered`); resolves with its output. */
  async triggerAction(botId: string, type: string, input: unknown): Promise<unknown> {
    const runtime = this.runtimeOf(botId)
    const outcome = await this.callBot(runtime, actionTriggered(type, input), {
      handler: `action(${JSON.stringify(type)})`,
      fields: { bot: botId, action: type },
      record: `action:${type}`,
      replies: [],
      conversationId: undefined,
    })
    await this.options.store.flush()
    if (outcome.timedOut) throw new InvalidPayloadError(`action ${type}: timed out`)
    if (outcome.failures.length > 0) throw new InvalidPayloadError(`action ${type}: ${outcome.failures[0]}`)
    return (outcome.body as { output?: unknown } | undefined)?.output
  }

  /** Times out an unfinished workflow whose time has come, then tells the bot (`workflowTimeout`). */
  async timeOutWorkflow(botId: string, workflowId: string, at: number): Promise<void> {
    const timedOut = await timeOutWorkflow(this.runtimeOf(botId).ctx, workflowId, at)
    if (timedOut) await this.updateWorkflow(botId, 'workflow_timedout', workflowId)
  }

  /**
   * Tells the bot about a workflow (`workflow_update`), in its conversation's turn when it has one: a new
   * instance is started, a continued one continues. Not awaited by whoever created it.
   */
  updateWorkflow(botId: string, update: WorkflowUpdate, workflowId: string): Promise<void> {
    const runtime = this.runtimeOf(botId)
    const work = async () => {
      const { workflow } = await runtime.plain.getWorkflow({ id: workflowId })
      const [conversation, user] = await Promise.all([
        workflow.conversationId ? runtime.plain.getConversation({ id: workflow.conversationId }).then((r) => r.conversation, () => undefined) : undefined,
        workflow.userId ? runtime.plain.getUser({ id: workflow.userId }).then((r) => r.user, () => undefined) : undefined,
      ])
      const at = new Date(this.options.clock.now()).toISOString()
      const op = workflowUpdate(update, { id: runtime.ctx.ids('evt'), at, workflow, conversation, user })
      await this.callBot(runtime, op, {
        handler: `on.${update === 'workflow_started' ? 'workflowStart' : update === 'workflow_continued' ? 'workflowContinue' : 'workflowTimeout'}(${JSON.stringify(workflow.name)})`,
        fields: { bot: botId, workflow: workflow.id, name: workflow.name, conversation: workflow.conversationId },
        record: `workflow:${workflow.id}`,
        replies: [],
        conversationId: workflow.conversationId,
      })
      await this.options.store.flush()
    }
    const key = `${botId}\u0000workflow:${workflowId}`
    return this.track(this.options.store.turn(key, work))
  }

  /** Runs a scheduled event whose time has come. */
  async releaseEvent(botId: string, eventId: string, at: number): Promise<void> {
    const event = await releaseScheduledEvent(this.runtimeOf(botId).ctx, eventId, at)
    if (event) await this.runEvent(botId, event)
  }

  /** Fires a cron schedule's event. */
  async fireCron(botId: string, type: string, payload: Record<string, unknown>, claim?: CronClaim): Promise<void> {
    if (!claim) {
      await this.sendEvent(botId, { type, payload })
      return
    }
    // The occurrence's event is stored with its claim, in one batch: a process that dies after claiming leaves a
    // pending event, which the process that takes over its work runs.
    const runtime = this.runtimeOf(botId)
    const event = newEvent(runtime.ctx, type, payload)
    if (await claim(newEventOps(runtime.ctx, event))) await this.runEvent(botId, event)
  }

  /** Whether a bot runs. */
  has(botId: string): boolean {
    return this.bots.has(botId)
  }

  /**
   * Runs what a stop interrupted: stateExpired handlers of states already deleted, and pending events
   * (messages stored whose handlers had not finished included), REPLAY_CONCURRENCY at a time, each
   * recorded as finished as soon as it is. Records named in `skip` spun at the last run: they are marked
   * failed instead of run again.
   */
  async replayUnfinished(botId: string, options: ReplayOptions = {}): Promise<void> {
    const runtime = this.runtimeOf(botId)
    const skip = options.skip ?? new Set()
    const spun = 'it blocked the event loop past the handler time limit at the last run (the watchdog ended the process)'
    const work: (() => Promise<unknown>)[] = []
    for (const state of await unfinishedExpiries(runtime.ctx)) {
      if (skip.has(expiryRecord(state))) {
        this.options.logger.error('stateExpired handlers not run again', { bot: botId, state: state.name, type: state.type, id: state.id, reason: spun })
        work.push(() => finishExpiries(runtime.ctx, [state]))
      } else work.push(() => this.finishExpired(botId, [state]))
    }
    for (const event of await pendingEvents(runtime.ctx)) {
      if (skip.has(eventRecord(event.id))) {
        this.options.logger.error('handlers not run again', { bot: botId, event: event.id, type: event.type, reason: spun })
        work.push(() => setEventStatus(runtime.ctx, event.id, 'failed', spun))
      } else if (event.type === 'message_created' && event.messageId !== undefined && event.conversationId !== undefined)
        work.push(() => this.runStoredMessage(botId, event))
      else work.push(() => this.runEvent(botId, event))
    }
    if (work.length > 0) this.options.logger.info('replaying work a stop interrupted', { bot: botId, pieces: work.length })
    let next = 0
    const lane = async () => {
      while (next < work.length) {
        const piece = work[next++]!
        await piece().catch((error) => this.options.logger.error('replay failed', { bot: botId, error: (error as Error).message }))
      }
    }
    await Promise.all(Array.from({ length: Math.min(REPLAY_CONCURRENCY, work.length) }, lane))
    await this.options.store.flush()
  }

  /** Resolves once no handler is running or queued (handlers past their time limit are not waited for). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  /** Waits for handlers in flight, then stops serving the API to bots that reach it over HTTP. */
  async close(): Promise<void> {
    await this.idle()
    await this.bridge.close()
  }

  /** An event as stored now, or undefined once it is gone. */
  private async currentEvent(runtime: BotRuntime, eventId: string): Promise<Event | undefined> {
    try {
      return (await runtime.plain.getEvent({ id: eventId })).event
    } catch (error) {
      if (error instanceof ResourceNotFoundError) return undefined
      throw error
    }
  }

  private runtimeOf(botId: string): BotRuntime {
    const runtime = this.bots.get(botId)
    if (!runtime) throw new ResourceNotFoundError(`bot ${JSON.stringify(botId)} not found`)
    return runtime
  }

  /** Keeps `work` among the handlers in flight until it settles; the store holds back its writes for the flush it ends with. */
  private track<T>(work: Promise<T>): Promise<T> {
    const end = this.options.store.begin()
    this.inFlight.add(work)
    const done = () => {
      end()
      this.inFlight.delete(work)
    }
    work.then(done, done)
    return work
  }

  /**
   * Calls the bot with one operation, as Botpress Cloud does (`bot.handler(request, { client })`), under
   * the supervisor: within the time limit, its console lines going to the log with the turn's ids. A
   * failure (the bot answers an error) is logged with what the bot logged of it; a call past its time limit
   * is logged and abandoned (its record stays for the replay).
   */
  private async callBot(
    runtime: BotRuntime,
    op: Operation,
    turn: { handler: string; fields: Record<string, unknown>; record: string; replies: Message[]; conversationId: string | undefined },
  ): Promise<TurnOutcome> {
    const outcome: TurnOutcome = { failures: [], timedOut: false }
    const logger = this.options.logger.child(mergeFields(turn.fields, { handler: turn.handler }))
    const client = this.handlerClient(runtime, turn.replies, turn.conversationId)
    // The bot's configuration is set in Botpress's dashboard: locally, its schema's defaults.
    const request = requestOf(runtime.loaded.id, op, runtime.loaded.configuration)
    const call: HandlerCall = { bot: runtime.loaded.id, handler: turn.handler, fields: turn.fields, record: turn.record, logger, errors: [] }
    let response: unknown
    // An SDK before 7.x builds its own client from BP_API_URL as the call starts: it gets the call's client over HTTP.
    const lent = runtime.loaded.clientFromEnv ? await this.bridge.lend(runtime.loaded.id, client) : undefined
    const result = await this.supervisor.run(call, async () => {
      response = await (lent ? withApiUrl(lent.url, () => runtime.loaded.bot.handler(request)) : runtime.loaded.bot.handler(request, { client }))
    })
    lent?.release()
    if (result.status === 'timedOut') {
      outcome.timedOut = true
      logger.error('handler timed out: abandoned, its conversation moves on; it runs again at the next start', { limitMs: this.supervisor.timeoutMs })
      return outcome
    }
    const answered = result.status === 'failed' ? undefined : outcomeOf(response as Parameters<typeof outcomeOf>[0])
    if (answered?.ok) {
      outcome.body = answered.body
      return outcome
    }
    // The SDK answers a throwing handler with a generic message and logs the error itself.
    const logged = call.errors![0]
    const thrown = result.status === 'failed' ? result.error : undefined
    const message = thrown instanceof Error ? thrown.message : (thrownMessage(logged) ?? (answered && !answered.ok ? answered.message : String(thrown)))
    outcome.failures.push(message)
    logger.error('handler failed', { error: message, stack: thrown instanceof Error ? thrown.stack : logged })
    return outcome
  }

  /**
   * The client a handler gets: the bot's, plus replies announced on the bus (and collected for the
   * caller when they are in `conversationId`), and events created without a schedule run at once.
   */
  private handlerClient(runtime: BotRuntime, replies: Message[], conversationId: string | undefined): Client {
    const botId = runtime.loaded.id
    const plain = runtime.plain
    // The bot's client underneath (a copy of its hundred methods at every turn cost more than the turn's reads).
    return Object.assign(Object.create(plain) as Client, {
      createMessage: async (input: Parameters<Client['createMessage']>[0]) => {
        const result = await plain.createMessage(input)
        if (result.message.direction === 'outgoing') {
          if (conversationId !== undefined && result.message.conversationId === conversationId) replies.push(result.message)
          this.options.bus.emit('reply', { botId, message: result.message })
        }
        return result
      },
      createEvent: async (input: Parameters<Client['createEvent']>[0]) => {
        const result = await plain.createEvent(input)
        // Not awaited: the handler that created it may hold the conversation's queue.
        if (result.event.status === 'pending') void this.runEvent(botId, result.event).catch(() => undefined)
        return result
      },
      createWorkflow: async (input: Parameters<Client['createWorkflow']>[0]) => {
        const result = await plain.createWorkflow(input)
        // As the cloud does: a pending instance is started on the bot (not awaited: its creator may hold the turn).
        if (result.workflow.status === 'pending') void this.updateWorkflow(botId, 'workflow_started', result.workflow.id).catch(() => undefined)
        return result
      },
      getOrCreateWorkflow: async (input: Parameters<Client['getOrCreateWorkflow']>[0]) => {
        const result = await plain.getOrCreateWorkflow(input)
        if (result.meta.created && result.workflow.status === 'pending') void this.updateWorkflow(botId, 'workflow_started', result.workflow.id).catch(() => undefined)
        return result
      },
    })
  }
}

/** Whether an action type is the bot's own or a running plugin's, rather than an integration's or a simulated plugin's. */
function isOwnAction(loaded: LoadedBot, type: string): boolean {
  if (type.includes(':')) return false
  const hash = type.indexOf('#')
  if (hash < 0) return true
  const plugins = loaded.definition.plugins ?? {}
  const alias = type.slice(0, hash)
  return Object.hasOwn(plugins, alias) && !plugins[alias]!.simulated
}

/** Runs `start` with `BP_API_URL` set to `url`, for the SDK to read as it constructs its client; then puts it back. */
function withApiUrl<T>(url: string, start: () => T): T {
  const previous = process.env.BP_API_URL
  process.env.BP_API_URL = url
  try {
    return start()
  } finally {
    if (previous === undefined) delete process.env.BP_API_URL
    else process.env.BP_API_URL = previous
  }
}

/** The longest text of a message a log line carries. */
const LOGGED_TEXT = 120


function queueKey(botId: string, conversationId: string): string {
  return `${botId}\u0000conversation:${conversationId}`
}

/** How many hooks of those kinds the bot registered for a type (and `'*'`): a hook alone handles it too. */
function hooksOf(bot: LoadedBot['bot'], kinds: string[], key: string): number {
  const hooks = (bot as { hookHandlers?: Record<string, Record<string, unknown[] | undefined> | undefined> }).hookHandlers ?? {}
  return kinds.reduce((sum, kind) => sum + (hooks[kind]?.[key]?.length ?? 0) + (key === '*' ? 0 : (hooks[kind]?.['*']?.length ?? 0)), 0)
}

/** How many handlers a bot registered for a key (and `'*'`), from the SDK's merged lists. */
function countOf(handlers: Record<string, unknown[] | undefined>, key: string): number {
  return handlers[key]?.length ?? handlers['*']?.length ?? 0
}

/** The message of an error the SDK logged (`util.format(message, error)`): the thrown error's own message. */
function thrownMessage(logged: string | undefined): string | undefined {
  if (logged === undefined) return undefined
  const first = logged.split('\n')[0]!
  const match = /(?:^|\s)(?:[A-Z]\w*)?Error: (.*)$/.exec(first)
  return match ? match[1] : first
}
