/**
 * The harness bot authors use inside `node --test`: one bot folder, an in-memory store, a virtual
 * clock, and a few calls to talk to the bot and look at what it stored.
 *
 *   const t = await testBot('bots/echo')
 *   const { replies } = await t.send('hello')
 *   assert.equal(replies[0].payload.text, '#1 hello')
 *   await t.close()
 */
import { basename, resolve } from 'node:path'
import { MemoryLevel } from 'memory-level'
import type { Client, Event, Message, State, StateType } from './client/index.ts'
import type { ActionCall, ActionMock } from './dispatch/actions.ts'
import { createLogger, type LogLevel } from './log.ts'
import { startRuntime, type Runtime } from './runtime.ts'
import { Store, type Db } from './store/store.ts'
import { VirtualClock } from './time/clock.ts'
import { parseDuration } from './time/duration.ts'

/** Who sends a test message, and where: the integration (its alias) and channel it comes through, and tags. */
export type SendOptions = {
  userId?: string
  conversationId?: string
  type?: string
  integration?: string
  channel?: string
  tags?: { conversation?: Record<string, string>; user?: Record<string, string>; message?: Record<string, string> }
}

/** A running bot under test. */
export type BotTest = {
  botId: string
  runtime: Runtime
  clock: VirtualClock
  /** The bot's client, to set up or inspect data. */
  client: Client
  /** Log lines (JSON objects) the runtime and the bot's logger wrote. */
  logs: Record<string, unknown>[]
  /** Sends a text (or a payload) as a user; resolves after every handler ran, with the bot's replies. */
  send(text: string | Record<string, unknown>, options?: SendOptions): Promise<{ conversationId: string; message: Message; event: Event; replies: Message[] }>
  /** Sends an event; resolves after its handlers ran. */
  event(type: string, payload?: Record<string, unknown>, options?: { conversationId?: string; userId?: string }): Promise<{ event: Event; replies: Message[] }>
  /** Moves the virtual clock forward (seconds, or a duration such as '90m', '2h', '1d'), firing everything due on the way. */
  advance(duration: number | string): Promise<void>
  /** Every message in a conversation, oldest first. */
  transcript(conversationId?: string): Promise<Message[]>
  /** A live state's payload, or undefined. */
  state(type: StateType, id: string, name: string): Promise<State['payload'] | undefined>
  /**
   * Answers an integration's (or a simulated plugin's) action with `mock` from now on, before the bot folder's
   * `localbot.mocks.ts`: `t.mockAction('slack:addReaction', (input) => ({}))`.
   */
  mockAction(type: string, mock: ActionMock): void
  /** Every action call the bot made to an integration or a simulated plugin, oldest first. */
  readonly calls: readonly ActionCall[]
  /** Waits for handlers in flight, then closes the store. */
  close(): Promise<void>
}

/** How a bot runs under test. */
export type TestOptions = {
  clock?: VirtualClock
  logLevel?: LogLevel
  /** An action without a mock fails the call (as `--strict-actions`) instead of answering its schema's plausible output. */
  strictActions?: boolean
}

/** Starts one bot folder over memory-level with a virtual clock (default start 2026-01-01T00:00:00Z). */
export async function testBot(botDir: string, options: TestOptions = {}): Promise<BotTest> {
  const dir = resolve(botDir)
  const botId = basename(dir)
  const clock = options.clock ?? new VirtualClock()
  const logs: Record<string, unknown>[] = []
  const logger = createLogger({ level: options.logLevel ?? 'debug', sink: { json: true, write: (line) => logs.push(JSON.parse(line)) } })
  const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
  const runtime = await startRuntime({ botsDir: resolve(dir, '..'), folders: [{ id: botId, dir }], store, clock, logger, strictActions: options.strictActions })
  const failure = runtime.failures[0]
  if (failure) {
    await runtime.close()
    throw failure
  }
  await runtime.ready
  const client = runtime.dispatcher.clientOf(botId)
  return {
    botId,
    runtime,
    clock,
    client,
    logs,
    send: (text, { userId = 'user-1', conversationId = 'conv-1', type = 'text', ...where } = {}) =>
      runtime.dispatcher.sendMessage(botId, { userId, conversationId, type, payload: typeof text === 'string' ? { text } : text, ...where }),
    event: (type, payload = {}, where = {}) => runtime.dispatcher.sendEvent(botId, { type, payload, ...where }),
    async advance(duration) {
      const seconds = typeof duration === 'number' ? duration : parseDuration(duration)
      if (seconds === undefined) throw new Error(`not a duration: ${duration}`)
      await runtime.advanceClock!(seconds)
      await runtime.dispatcher.idle()
    },
    async transcript(conversationId = 'conv-1') {
      const messages: Message[] = []
      let nextToken: string | undefined
      do {
        const page = await client.listMessages({ conversationId, limit: 100, nextToken })
        messages.push(...page.messages)
        nextToken = page.meta.nextToken
      } while (nextToken)
      return messages.reverse()
    },
    async state(type, id, name) {
      try {
        return (await client.getState({ type, id, name })).state.payload
      } catch (error) {
        if ((error as { type?: string }).type === 'ResourceNotFound') return undefined
        throw error
      }
    },
    mockAction: (type, mock) => runtime.dispatcher.actions.mock(botId, type, mock),
    get calls() {
      return runtime.dispatcher.actions.calls.filter((call) => call.botId === botId)
    },
    close: () => runtime.close(),
  }
}
