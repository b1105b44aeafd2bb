import type { Store } from '../store/store.ts'
import type { Clock } from '../time/clock.ts'
import { cascadeCalls } from './cascade.ts'
import type { ClientContext, StateDefinition } from './common.ts'
import { conversationCalls } from './conversations.ts'
import { eventCalls } from './events.ts'
import { idGenerator, type IdGenerator } from './ids.ts'
import { messageCalls } from './messages.ts'
import { participantCalls } from './participants.ts'
import { stateCalls } from './states.ts'
import { userCalls } from './users.ts'

/** Every call of the client, each `(ctx, input) => Promise<output>`. */
const calls = {
  ...conversationCalls,
  ...participantCalls,
  ...userCalls,
  ...messageCalls,
  ...eventCalls,
  ...stateCalls,
  ...cascadeCalls,
}

type Calls = typeof calls

/** The Botpress client API that handlers get as `client`, bound to one bot. */
export type Client = {
  [K in keyof Calls]: Calls[K] extends (ctx: ClientContext, ...args: infer A) => infer R ? (...args: A) => R : never
}

/** The names of every client call. */
export const callNames = Object.keys(calls) as (keyof Calls)[]

/** What a client needs: the store, the bot, the clock and the bot's declared states. */
export type ClientOptions = {
  store: Store
  botId: string
  clock: Clock
  states?: Record<string, StateDefinition>
  ids?: IdGenerator
}

/** The context every call of one bot's client works in. */
export function createClientContext(options: ClientOptions): ClientContext {
  return {
    store: options.store,
    botId: options.botId,
    clock: options.clock,
    states: options.states ?? {},
    ids: options.ids ?? idGenerator(options.clock),
  }
}

/** Makes a client for one bot. */
export function createClient(options: ClientOptions): Client {
  return clientOver(createClientContext(options))
}

/** The client of an existing context (the dispatcher shares one context per bot). */
export function clientOver(ctx: ClientContext): Client {
  const client = {} as Record<string, unknown>
  for (const name of callNames) {
    const call = calls[name] as (ctx: ClientContext, input: unknown) => Promise<unknown>
    client[name] = (input: unknown) => call(ctx, input)
  }
  return client as Client
}

export * from './errors.ts'
export { ingestMessage, type IncomingMessage } from './ingest.ts'
export { pendingEvents, releaseScheduledEvent, setEventStatus } from './events.ts'
export { finishExpiries, takeExpiredState, takeExpiredStates, unfinishedExpiries, type DueExpiry } from './states.ts'
export type { ClientContext } from './common.ts'
export type { Conversation } from './conversations.ts'
export type { User } from './users.ts'
export type { Message } from './messages.ts'
export type { Event, EventStatus } from './events.ts'
export type { State } from './states.ts'
export type { StateDefinition, StateType, Tags } from './common.ts'
