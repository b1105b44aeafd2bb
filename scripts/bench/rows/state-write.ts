/**
 * Row 1: sequential awaited setState of a ~300-byte payload vs raw db.put of the same bytes.
 * Each side has its own LevelDB folder and writes the same keys (1,000 conversations' `profile` state, in
 * turn) with the same record JSON; the baseline builds its key and its JSON per put, as a program must.
 */
import { createClient } from '../../../runtime/client/index.ts'
import { Store } from '../../../runtime/store/store.ts'
import { systemClock } from '../../../runtime/time/clock.ts'
import { alternate, opsPerSecond } from '../compare.ts'
import { openRaw } from '../raw.ts'
import { result, type Mode, type Row } from '../row.ts'
import { nth } from '../seed.ts'
import { tempDir } from '../tmp.ts'

const BOT = 'bench'
const OWNERS = 1000

/** A ~300-byte JSON payload (its JSON is 300 bytes for every count). */
export function profilePayload(i: number) {
  return {
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    language: 'en',
    timezone: 'Europe/London',
    plan: 'free',
    visits: 100000 + (i % 900000),
    notes: 'x'.repeat(167),
  }
}

export const row: Row = {
  name: 'state-write',
  async run(mode: Mode) {
    const store = await Store.open(await tempDir('write-local'))
    const raw = await openRaw(await tempDir('write-raw'))
    const client = createClient({ store, botId: BOT, clock: systemClock })
    for (let i = 0; i < OWNERS; i++) await client.createConversation({ id: nth('conv', i) })
    const count = mode === 'quick' ? 4000 : 10000
    const maxMs = mode === 'quick' ? 3000 : 8000
    let n = 0
    const local = () =>
      opsPerSecond(count, maxMs, () => {
        const i = n++
        // setState resolves once its batch is staged; flush to compare written with written.
        return client
          .setState({ type: 'conversation', id: nth('conv', i % OWNERS), name: 'profile', payload: profilePayload(i) })
          .then(() => store.flush())
      })
    let m = 0
    const baseline = () =>
      opsPerSecond(count, maxMs, () => {
        const i = m++
        const id = nth('conv', i % OWNERS)
        const now = new Date().toISOString()
        const record = { id, type: 'conversation', name: 'profile', payload: profilePayload(i), createdAt: now, updatedAt: now }
        return raw.put(`b\u0000${BOT}\u0000S\u0000conversation\u0000${id}\u0000profile`, JSON.stringify(record))
      })
    const rounds = mode === 'quick' ? { warmup: 1, rounds: 5 } : { warmup: 2, rounds: 9 }
    const medians = await alternate(rounds, local, baseline)
    await store.close()
    await raw.close()
    return [
      result({
        name: 'state-write',
        value: medians.local,
        unit: 'ops/s',
        baseline: medians.baseline,
        target: { on: 'ratio', op: '>=', bound: 0.5 },
        note: 'setState (conversation scope, 300-byte payload) until written, vs db.put of the same record JSON',
      }),
    ]
  },
}
