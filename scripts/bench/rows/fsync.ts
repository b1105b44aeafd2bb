/**
 * The dispatch row's job with the store opened with `fsync: true` (every group commit written with
 * LevelDB's `sync`), vs raw LevelDB handling the same messages with `db.batch(ops, { sync: true })` and
 * as many keys per batch as localbot writes per message (counted first, once every conversation
 * exists). In the same run, alternated with them, the dispatch row itself (fsync off, its three-record
 * floor), so the two rows tell what fsync costs. Rounds are capped in time: a synced write may take milliseconds.
 */
import { median, result, type Mode, type Row } from '../row.ts'
import { alternateAll } from '../compare.ts'
import { CONVERSATIONS, dispatchPlan, dispatchTarget, localbotSide, rawSide } from './dispatch.ts'

export const row: Row = {
  name: 'fsync',
  async run(mode: Mode) {
    const { budget: dispatchBudget, rounds } = dispatchPlan(mode)
    // Four sides share the run's time: a round of each is at most 0.75 s (quick) or 2.5 s.
    const budget = { count: dispatchBudget.count, maxMs: mode === 'quick' ? 750 : 2500 }
    const synced = await localbotSide('fsync-local', budget, { fsync: true })
    // A conversation's first message also creates it and its user; the rounds' messages, like these, do not.
    await synced.keysPerMessage(CONVERSATIONS)
    const keys = Math.round(await synced.keysPerMessage(CONVERSATIONS))
    const sides = [
      synced,
      await rawSide('fsync-raw', budget, { sync: true, keys }),
      await localbotSide('fsync-off-local', budget),
      await rawSide('fsync-off-raw', budget, { sync: false }),
    ]
    const [on, rawOn, off, rawOff] = (await alternateAll(rounds, sides.map((side) => side.round))).map(median) as [number, number, number, number]
    for (const side of sides) await side.close()
    return [
      result({
        name: 'fsync',
        value: on,
        unit: 'msg/s',
        baseline: rawOn,
        target: { on: 'ratio', op: '>=', bound: 0.5 },
        note: `the dispatch row's job with Store.open(dir, { fsync: true }), vs one get + db.batch(ops, { sync: true }) of the message, state, reply and index entries to ${keys} keys, as many as localbot wrote per message; fsync keeps ${percent(on / off)} of localbot's msg/s`,
      }),
      result({
        name: 'fsync-off',
        value: off,
        unit: 'msg/s',
        baseline: rawOff,
        target: dispatchTarget,
        note: "the dispatch row (fsync off, the three-record raw floor), alternated with the fsync row's sides",
      }),
    ]
  },
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`
}
