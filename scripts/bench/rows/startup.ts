/**
 * Row 7: `npm start` (the example bots of bots/) until it prints `listening on`, over a data folder
 * holding 100,000 states vs over an empty one (a new one each round); then the idle resident memory
 * of localbot's node process (not npm's or tsx's wrappers). The 100,000 states are half echo counters,
 * half support sessions expiring 30 to 60 minutes ahead, written in the ops setState writes.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Store } from '../../../runtime/store/store.ts'
import { alternate } from '../compare.ts'
import { randomInts } from '../rand.ts'
import { median, result, type Mode, type Row } from '../row.ts'
import { groupProcesses, startServer } from '../serve.ts'
import { newStateOps, nth, root, seed, settle, stateRecord } from '../seed.ts'
import { tempDir } from '../tmp.ts'

const STATES = 100_000
const MINUTE = 60_000

async function seededFolder(): Promise<string> {
  const dir = await tempDir('startup-full')
  const store = await Store.open(dir)
  const now = Date.now()
  const pick = randomInts(3)
  await seed(store, STATES, (i) =>
    i % 2 === 0
      ? newStateOps('echo', stateRecord('conversation', nth('conv', i), 'counter', { count: 1 + (i % 50) }, now))
      : newStateOps(
          'support',
          stateRecord('conversation', nth('conv', i), 'sessionData', { startTime: new Date(now).toISOString(), data: { messages: 3 } }, now, now + 30 * MINUTE + pick(30 * MINUTE)),
        ),
  )
  await settle(store)
  await store.close()
  return dir
}

/** localbot's own process in an `npm start` group: the node process that runs runtime/main.ts and has no such child. */
function localbotRss(pgid: number): { localbot: number; group: number } {
  const processes = groupProcesses(pgid)
  const mains = processes.filter((p) => p.cmdline.includes('runtime/main.ts'))
  const leaf = mains.find((p) => !mains.some((q) => q.ppid === p.pid))
  if (!leaf) throw new Error(`no localbot process among ${processes.map((p) => p.cmdline).join('; ')}`)
  return { localbot: leaf.rss, group: processes.reduce((sum, p) => sum + p.rss, 0) }
}

export const row: Row = {
  name: 'startup',
  async run(mode: Mode) {
    const full = await seededFolder()
    const idleMs = mode === 'quick' ? 2000 : 5000
    const rss: number[] = []
    const groupRss: number[] = []
    const start = async (data: string, measureRss: boolean) => {
      const server = await startServer('npm', ['start', '--', '--data', data, '--port', '0', '--no-repl'], { cwd: root, limitMs: 60_000 })
      try {
        if (measureRss) {
          await sleep(idleMs)
          const { localbot, group } = localbotRss(server.child.pid!)
          rss.push(localbot)
          groupRss.push(group)
        }
        return server.readyMs
      } finally {
        await server.stop()
      }
    }
    const rounds = mode === 'quick' ? { warmup: 1, rounds: 3 } : { warmup: 1, rounds: 7 }
    const medians = await alternate(
      rounds,
      () => start(full, true),
      async () => start(await tempDir('startup-empty'), false),
    )
    const MB = 2 ** 20
    return [
      result({
        name: 'startup',
        value: medians.local,
        unit: 'ms',
        baseline: medians.baseline,
        target: { on: 'ratio', op: '<=', bound: 1.5 },
        note: '`npm start` to `listening on`, example bots, over 100,000 stored states vs over an empty data folder',
      }),
      result({
        name: 'startup-rss',
        value: median(rss) / MB,
        unit: 'MB',
        target: { on: 'value', op: '<=', bound: 120 },
        note: `RSS of localbot's node process ${idleMs / 1000} s after listening, example bots over the 100,000 states; npm + tsx + node together: ${(median(groupRss) / MB).toFixed(0)} MB`,
      }),
    ]
  },
}
