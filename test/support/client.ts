import { createClient, type Client, type StateDefinition, type TableDefinition } from '../../runtime/client/index.ts'
import type { Store } from '../../runtime/store/store.ts'
import { VirtualClock } from '../../runtime/time/clock.ts'

/** A client for bot `botId` over `store`, on a virtual clock the test moves. */
export function testClient(
  store: Store,
  options: { botId?: string; states?: Record<string, StateDefinition>; tables?: Record<string, TableDefinition>; clock?: VirtualClock } = {},
) {
  const clock = options.clock ?? new VirtualClock()
  const client: Client = createClient({ store, botId: options.botId ?? 'bot1', clock, states: options.states ?? {}, tables: options.tables ?? {} })
  return { client, clock }
}

/** Every key and value in the store, for tests that look for leftovers. */
export async function dump(store: Store): Promise<[string, string][]> {
  await store.flush()
  return store.db.iterator().all()
}
