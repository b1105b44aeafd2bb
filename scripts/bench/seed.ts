/** Setup shared by the rows: stores in temp folders, states written with the client's own ops, a quiet logger. */
import { resolve } from 'node:path'
import { expiryKey, type State } from '../../runtime/client/states.ts'
import { putIndex, putJson } from '../../runtime/client/indexing.ts'
import { createLogger, type Logger } from '../../runtime/log.ts'
import * as layout from '../../runtime/store/layout.ts'
import type { Op, Store } from '../../runtime/store/store.ts'

/** The repository's root folder. */
export const root = resolve(import.meta.dirname, '..', '..')

/** The fixture bots of the dispatch, http and expiry rows. */
export const benchBots = { botsDir: resolve(import.meta.dirname, 'bots'), folders: [{ id: 'counter', dir: resolve(import.meta.dirname, 'bots', 'counter') }] }

/** The logger `npm start` has (level info, JSON lines), writing nowhere: its formatting costs count, the terminal does not. */
export function quietLogger(): Logger {
  return createLogger({ level: 'info', sink: { json: true, write: () => {} } })
}

/** A state record as setState stores it. */
export function stateRecord(type: State['type'], id: string, name: string, payload: Record<string, unknown>, now: number, expiresAt?: number): State {
  const at = new Date(now).toISOString()
  const state: State = { id, type, name, payload, createdAt: at, updatedAt: at }
  if (expiresAt !== undefined) {
    state.expiry = Math.round((expiresAt - now) / 1000)
    state.expiresAt = new Date(expiresAt).toISOString()
  }
  return state
}

/** The ops setState writes for a new state: the record and, when it expires, its expiry index entry. */
export function newStateOps(botId: string, state: State): Op[] {
  const ops: Op[] = [putJson(layout.states.record(botId, state.type, state.id, state.name), state)]
  const expiry = expiryKey(botId, state)
  if (expiry) ops.push(putIndex(expiry))
  return ops
}

/** Writes `count` things in batches of `per`, `opsOf(i)` giving the ops of thing i. */
export async function seed(store: Store, count: number, opsOf: (i: number) => Op[], per = 1000): Promise<void> {
  for (let start = 0; start < count; start += per) {
    const ops: Op[] = []
    for (let i = start; i < Math.min(count, start + per); i++) ops.push(...opsOf(i))
    await store.batch(ops)
  }
}

/** Compacts the whole database, as a store that has been in use a while is: reads then meet settled files, not fresh seeding. */
export async function settle(store: Store): Promise<void> {
  const db = store.db as unknown as { compactRange?: (start: string, end: string) => Promise<void> }
  await db.compactRange?.('\u0000', '\uffff')
}

/** A zero-padded id, the same length for every i. */
export function nth(prefix: string, i: number): string {
  return `${prefix}-${String(i).padStart(6, '0')}`
}
