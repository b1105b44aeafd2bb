import type { z } from 'zod'
import type { Store } from '../store/store.ts'
import type { Clock } from '../time/clock.ts'
import { actionCallOps } from './action-calls.ts'
import { analyticsOps } from './analytics.ts'
import { cascadeOps } from './cascade.ts'
import { parseInput, type ClientContext, type ClientLogger, type ExpiryUnit, type FileLinks, type Operation, type StateDefinition, type TableDefinition } from './common.ts'
import { conversationOps } from './conversations.ts'
import { eventOps } from './events.ts'
import { fileOps } from './files.ts'
import { idGenerator, type IdGenerator } from './ids.ts'
import { messageOps } from './messages.ts'
import { participantOps } from './participants.ts'
import { stateOps } from './states.ts'
import { tableOps } from './tables.ts'
import { tagValueOps } from './tag-values.ts'
import { userOps } from './users.ts'
import { workflowOps } from './workflows.ts'

/** Every operation of the API, by the name of its client call: the one table both transports read. */
export const operations = {
  ...conversationOps,
  ...participantOps,
  ...userOps,
  ...messageOps,
  ...eventOps,
  ...stateOps,
  ...cascadeOps,
  ...workflowOps,
  ...fileOps,
  ...tableOps,
  ...tagValueOps,
  ...analyticsOps,
  ...actionCallOps,
}

type Operations = typeof operations

/** A client call: one flat input (optional when every field is), Botpress's output. */
type Call<O> =
  O extends Operation<infer S, infer R> ? ({} extends z.input<S> ? (input?: z.input<S>) => Promise<R> : (input: z.input<S>) => Promise<R>) : never

/** The Botpress client API that handlers get as `client`, bound to one bot. */
export type Client = { [K in keyof Operations]: Call<Operations[K]> }

/** The names of every client call. */
export const callNames = Object.keys(operations) as (keyof Operations)[]

/** What a client needs: the store, the bot, the clock, the bot's declared states and tables. */
export type ClientOptions = {
  store: Store
  botId: string
  clock: Clock
  states?: Record<string, StateDefinition>
  tables?: Record<string, TableDefinition>
  /** Where file content is served (see FileLinks); every bot of a runtime shares one. */
  files?: FileLinks
  /** The unit of states' `expiry` (default seconds, as the reference page; ms for a Botpress project). */
  expiryUnit?: ExpiryUnit
  /** Where trackAnalytics reports. */
  logger?: ClientLogger
  ids?: IdGenerator
}

/** The context every call of one bot's client works in. */
export function createClientContext(options: ClientOptions): ClientContext {
  return {
    store: options.store,
    botId: options.botId,
    clock: options.clock,
    states: options.states ?? {},
    tables: options.tables ?? {},
    files: options.files ?? {},
    expiryUnit: options.expiryUnit ?? 'seconds',
    logger: options.logger,
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
    const op = operations[name] as Operation
    client[name] = async (input: unknown) => op.run(ctx, parseInput(name, op.input, input))
  }
  return client as Client
}

export * from './errors.ts'
export { ingestMessage, type IncomingMessage } from './ingest.ts'
export { newEvent, newEventOps, pendingEvents, releaseScheduledEvent, setEventStatus } from './events.ts'
export { finishExpiries, isUnfinishedExpiry, takeExpiredState, takeExpiredStates, unfinishedExpiries, type DueExpiry } from './states.ts'
export type { ClientContext, ExpiryUnit, HttpMethod, Operation } from './common.ts'
export type { Conversation } from './conversations.ts'
export type { User } from './users.ts'
export type { Message } from './messages.ts'
export type { Event, EventStatus } from './events.ts'
/** A state as the API answers (`State` in states.ts is the stored record). */
export type { BotpressState as State, State as StoredState } from './states.ts'
export type { Workflow, WorkflowStatus } from './workflows.ts'
export type { FileLinks, StateDefinition, StateType, TableDefinition, Tags } from './common.ts'
export { fileContent, putFileContent, type BotpressFile } from './files.ts'
export { tablesOf, type Row, type Table } from './tables.ts'
