/**
 * Row 2: getState vs raw db.get (and JSON.parse, which any reader of a JSON record does), random keys
 * out of 100,000 states, both sides on the same database. Each side draws its own random sequence, so
 * neither reads keys the other just warmed.
 */
import { createClient } from '../../../runtime/client/index.ts'
import { Store } from '../../../runtime/store/store.ts'
import { systemClock } from '../../../runtime/time/clock.ts'
import { alternate, opsPerSecond } from '../compare.ts'
import { randomInts } from '../rand.ts'
import { result, type Mode, type Row } from '../row.ts'
import { newStateOps, nth, seed, settle, stateRecord } from '../seed.ts'
import { tempDir } from '../tmp.ts'
import { profilePayload } from './state-write.ts'

const BOT = 'bench'
const STATES = 100_000

export const row: Row = {
  name: 'state-read',
  async run(mode: Mode) {
    const store = await Store.open(await tempDir('read'))
    const now = Date.now()
    await seed(store, STATES, (i) => newStateOps(BOT, stateRecord('conversation', nth('conv', i), 'profile', profilePayload(i), now)))
    await settle(store)
    const client = createClient({ store, botId: BOT, clock: systemClock })
    const db = store.db
    const count = mode === 'quick' ? 10000 : 30000
    const maxMs = mode === 'quick' ? 3000 : 8000
    let seedNo = 1
    const local = () => {
      const pick = randomInts(seedNo++)
      return opsPerSecond(count, maxMs, () => client.getState({ type: 'conversation', id: nth('conv', pick(STATES)), name: 'profile' }))
    }
    const baseline = () => {
      const pick = randomInts(seedNo++)
      return opsPerSecond(count, maxMs, async () => {
        const raw = await db.get(`b\u0000${BOT}\u0000S\u0000conversation\u0000${nth('conv', pick(STATES))}\u0000profile`)
        return JSON.parse(raw!)
      })
    }
    const rounds = mode === 'quick' ? { warmup: 1, rounds: 5 } : { warmup: 2, rounds: 9 }
    const medians = await alternate(rounds, local, baseline)
    await store.close()
    return [
      result({
        name: 'state-read',
        value: medians.local,
        unit: 'ops/s',
        baseline: medians.baseline,
        target: { on: 'ratio', op: '>=', bound: 0.5 },
        note: 'getState vs db.get + JSON.parse, uniform random keys of 100,000 states',
      }),
    ]
  },
}
