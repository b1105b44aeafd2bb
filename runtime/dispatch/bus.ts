import mittImport, { type Emitter } from 'mitt'
import type { Event, Message, State } from '../client/index.ts'
import type { ActionCall } from './actions.ts'

/** What the runtime announces; the REPL and HTTP faces listen. */
export type RuntimeEvents = {
  /** A message the bot created (a reply), whenever it was created. */
  reply: { botId: string; message: Message }
  /** A message a user sent, once stored. */
  incoming: { botId: string; message: Message }
  /** An event whose handlers have run. */
  event: { botId: string; event: Event }
  /** A state that expired, once its handlers have run. */
  stateExpired: { botId: string; state: State }
  /** An action call of an integration or simulated plugin, once answered (or failed). */
  action: ActionCall
}

// mitt's types describe its CommonJS build; under ESM its default export is the function itself.
const mitt = ((mittImport as unknown as { default?: unknown }).default ?? mittImport) as unknown as <T extends Record<string, unknown>>() => Emitter<T>

/** The runtime's internal event bus. */
export type Bus = Emitter<RuntimeEvents>

/** Makes a bus. */
export function createBus(): Bus {
  return mitt<RuntimeEvents>()
}
