/**
 * Row 6, in a process of its own (heap figures need `--expose-gc` and no other row's garbage):
 * - heap growth per pending expiry: the runtime runs (real clock, ticking) while 1,000,000 expiring
 *   states are written through the store, in the ops setState writes, due 10 minutes to 24 hours ahead;
 *   growth of the collected heap / 1,000,000.
 * - lateness: then 10,000 conversations get a `session` state (client.setState) due within one second a
 *   few seconds ahead; lateness = when the stateExpired bus event says its handlers ran, minus expiresAt.
 */
import { createClientContext } from '../../../runtime/client/index.ts'
import { newConversation, writeConversationOps } from '../../../runtime/client/conversations.ts'
import { startRuntime } from '../../../runtime/runtime.ts'
import { Store } from '../../../runtime/store/store.ts'
import { systemClock } from '../../../runtime/time/clock.ts'
import { setTimeout as sleep } from 'node:timers/promises'
import { randomInts } from '../rand.ts'
import { percentile, result, type Mode, type Row } from '../row.ts'
import { benchBots, newStateOps, nth, quietLogger, seed, stateRecord } from '../seed.ts'
import { tempDir } from '../tmp.ts'

const BOT = 'counter'
const PENDING = 1_000_000
const FIRING = 10_000
const MINUTE = 60_000

function collectedHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with node --expose-gc (npm run bench does)')
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

export const row: Row = {
  name: 'expiry-memory',
  async run(mode: Mode) {
    const store = await Store.open(await tempDir('expiry'))
    const runtime = await startRuntime({ ...benchBots, store, clock: systemClock, logger: quietLogger() })
    if (runtime.failures.length > 0) throw runtime.failures[0]

    const before = collectedHeap()
    const rssBefore = process.memoryUsage().rss
    const now = Date.now()
    const pick = randomInts(7)
    await seed(store, PENDING, (i) =>
      newStateOps(BOT, stateRecord('conversation', nth('conv', i), 'reminder', { note: 'call back' }, now, now + 10 * MINUTE + pick(24 * 60 * MINUTE))),
    )
    const after = collectedHeap()
    const perEntry = (after - before) / PENDING
    const rssGrowth = process.memoryUsage().rss - rssBefore
    const inWheel = runtime.keeper.inMemory

    // 10,000 sessions running out in the same second.
    const ctx = createClientContext({ store, botId: BOT, clock: systemClock })
    await seed(store, FIRING, (i) => writeConversationOps(ctx, undefined, newConversation(ctx, { id: nth('sess', i) }), []))
    const lateness: number[] = []
    runtime.bus.on('stateExpired', ({ state }) => {
      if (state.name === 'session') lateness.push(Date.now() - Date.parse(state.expiresAt!))
    })
    const client = runtime.dispatcher.clientOf(BOT)
    const due = Date.now() + (mode === 'quick' ? 5000 : 8000)
    for (let i = 0; i < FIRING; i++) {
      const at = due + Math.floor((i * 1000) / FIRING)
      await client.setState({ type: 'conversation', id: nth('sess', i), name: 'session', payload: { startedAt: new Date().toISOString() }, expiry: (at - Date.now()) / 1000 })
    }
    if (Date.now() > due - 250) throw new Error('setting 10,000 states took longer than the lead before they are due')
    const deadline = due + 60_000
    while (lateness.length < FIRING && Date.now() < deadline) await sleep(50)
    const missing = FIRING - lateness.length
    for (let i = 0; i < missing; i++) lateness.push(Infinity)
    await runtime.close()
    return [
      result({
        name: 'expiry-memory',
        value: perEntry,
        unit: 'bytes/entry',
        target: { on: 'value', op: '<=', bound: 150 },
        note: `collected heap growth over 1,000,000 pending expiries (${inWheel.toLocaleString('en-US')} in the wheel, the rest in the store's index); RSS grew ${(rssGrowth / 2 ** 20).toFixed(0)} MB (LevelDB's caches, outside the heap)`,
      }),
      result({
        name: 'expiry-lateness',
        value: percentile(lateness, 99),
        unit: 'ms (p99)',
        target: { on: 'value', op: '<=', bound: 1000 },
        note: `10,000 states due within one second, real clock, 1,000,000 others pending; median ${percentile(lateness, 50)} ms, max ${Math.max(...lateness)} ms${missing > 0 ? `, ${missing} not fired within 60 s` : ''}`,
      }),
    ]
  },
}
