/**
 * Row 4: messages/s through `POST /bots/:id/messages` with 10 keep-alive connections (undici, in this
 * process), vs a bare node:http server doing the dispatch row's raw work per request, same load. Both
 * servers are processes of their own on loopback, started the way `npm start` runs localbot
 * (`node --import tsx runtime/main.ts`), each over its own temp data folder.
 */
import { resolve } from 'node:path'
import { Pool } from 'undici'
import { alternate } from '../compare.ts'
import { result, type Mode, type Row } from '../row.ts'
import { startServer } from '../serve.ts'
import { benchBots, root } from '../seed.ts'
import { tempDir } from '../tmp.ts'
import { nthMessage } from './dispatch.ts'

const CONNECTIONS = 10

/** One request of a load: the path and JSON body of message i. */
export type LoadRequest = (i: number) => { path: string; body: string }

/** localbot's request for the dispatch row's message i. */
const localbotRequest: LoadRequest = (i) => ({ path: '/bots/counter/messages', body: JSON.stringify(nthMessage(i)) })

/**
 * POSTs messages `first`, `first + 1`, ... (`count` of them, bounded by `maxMs`) over 10 keep-alive
 * connections, 10 in flight; returns messages/s.
 */
export async function load(url: string, { count, maxMs, first, request = localbotRequest }: { count: number; maxMs: number; first: number; request?: LoadRequest }): Promise<number> {
  const pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1 })
  let next = 0
  const start = performance.now()
  const deadline = start + maxMs
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      const { path, body } = request(first + next++)
      const response = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body })
      const text = await response.body.text()
      if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${text}`)
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, worker))
  const rate = next / ((performance.now() - start) / 1000)
  await pool.close()
  return rate
}

export const row: Row = {
  name: 'http',
  async run(mode: Mode) {
    const local = await startServer(
      process.execPath,
      ['--import', 'tsx', 'runtime/main.ts', '--bots', benchBots.botsDir, '--data', await tempDir('http-local'), '--port', '0', '--no-repl'],
      { cwd: root },
    )
    const bare = await startServer(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, '..', 'http', 'raw-server.ts'), await tempDir('http-raw')], { cwd: root })
    try {
      const count = mode === 'quick' ? 2000 : 5000
      const maxMs = mode === 'quick' ? 3000 : 8000
      let n = 0
      let m = 0
      const rounds = mode === 'quick' ? { warmup: 1, rounds: 5 } : { warmup: 2, rounds: 9 }
      const medians = await alternate(
        rounds,
        async () => {
          const rate = await load(local.url, { count, maxMs, first: n })
          n += count
          return rate
        },
        async () => {
          const rate = await load(bare.url, { count, maxMs, first: m })
          m += count
          return rate
        },
      )
      return [
        result({
          name: 'http',
          value: medians.local,
          unit: 'msg/s',
          baseline: medians.baseline,
          target: { on: 'ratio', op: '>=', bound: 0.5 },
          note: 'POST /bots/counter/messages, 10 keep-alive connections (undici), vs bare node:http doing the dispatch row\'s raw work',
        }),
      ]
    } finally {
      await local.stop()
      await bare.stop()
    }
  },
}
