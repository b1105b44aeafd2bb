/**
 * Messages/s through `POST /bots/counter/messages` (10 keep-alive connections in all) into localbot on
 * PostgreSQL, with 1 process and with 3 processes sharing the database (the connections spread over them,
 * as a load balancer without affinity would), each against one localbot on LevelDB, in the same run. The
 * database is LOCALBOT_TEST_DATABASE_URL's, else a throwaway server scripts/with-postgres.sh starts; without
 * PostgreSQL the row says so and is skipped.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { Pool } from 'undici'
import { alternate } from '../compare.ts'
import { result, type Mode, type Result, type Row } from '../row.ts'
import { startServer, type Server } from '../serve.ts'
import { benchBots, root } from '../seed.ts'
import { tempDir } from '../tmp.ts'
import { nthMessage } from './dispatch.ts'

const CONNECTIONS = 10

/** Sends `count` messages (bounded by `maxMs`) over CONNECTIONS keep-alive connections spread over `urls`; returns messages/s. */
async function load(urls: string[], count: number, maxMs: number, first: number): Promise<number> {
  const pools = urls.map((url) => new Pool(url, { connections: Math.ceil(CONNECTIONS / urls.length), pipelining: 1 }))
  let next = 0
  const start = performance.now()
  const worker = async (w: number) => {
    const pool = pools[w % pools.length]!
    while (next < count && performance.now() < start + maxMs) {
      const response = await pool.request({ method: 'POST', path: '/bots/counter/messages', headers: { 'content-type': 'application/json' }, body: JSON.stringify(nthMessage(first + next++)) })
      const text = await response.body.text()
      if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${text}`)
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, w) => worker(w)))
  const rate = next / ((performance.now() - start) / 1000)
  await Promise.all(pools.map((pool) => pool.close()))
  return rate
}

/** A database for the row: the given one, or a throwaway server that `stop` removes; or why there is none. */
async function database(): Promise<{ url: string; stop(): Promise<void> } | { skip: string }> {
  if (process.env.LOCALBOT_TEST_DATABASE_URL) return { url: process.env.LOCALBOT_TEST_DATABASE_URL, stop: async () => undefined }
  // The script starts the server, runs this node, and removes the server when it ends (its stdin closes).
  const print = 'console.log(process.env.LOCALBOT_TEST_DATABASE_URL ?? "-"); process.stdin.resume()'
  const child = spawn(join(root, 'scripts', 'with-postgres.sh'), [process.execPath, '-e', print], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const url = await new Promise<string>((resolve) => {
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk) && out.includes('\n') && resolve(out.trim()))
    void exited.then(() => resolve('-'))
  })
  const stop = async () => {
    child.stdin.end()
    await exited
  }
  if (url.startsWith('postgres')) return { url, stop }
  await stop()
  return { skip: "no PostgreSQL here (install Debian's postgresql, or set LOCALBOT_TEST_DATABASE_URL)" }
}

/** `count` localbot processes over `store` (a data folder, or a database URL shared by all), started together. */
async function localbots(label: string, count: number, store: { data: string } | { url: string }): Promise<Server[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const where = 'url' in store ? ['--store', store.url, '--data', await tempDir(`${label}-${i}`)] : ['--data', store.data]
      return startServer(process.execPath, ['--import', 'tsx', 'runtime/main.ts', '--bots', benchBots.botsDir, ...where, '--port', '0', '--no-repl', '--no-watch'], { cwd: root, limitMs: 60_000 })
    }),
  )
}

/** A schema of its own for each set of processes, under the database's URL. */
const inSchema = (url: string, schema: string) => `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`

export const row: Row = {
  name: 'pg-dispatch',
  async run(mode: Mode) {
    const db = await database()
    if ('skip' in db) {
      process.stderr.write(`bench: pg-dispatch skipped: ${db.skip}\n`)
      return []
    }
    const count = mode === 'quick' ? 1000 : 4000
    const maxMs = mode === 'quick' ? 2000 : 6000
    const rounds = mode === 'quick' ? { warmup: 1, rounds: 3 } : { warmup: 2, rounds: 7 }
    const run = Date.now().toString(36)
    const started: Server[][] = []
    try {
      const [level, ...pg] = await Promise.all([
        localbots('pg-dispatch-level', 1, { data: await tempDir('pg-dispatch-level') }),
        ...[1, 3].map((processes) => localbots(`pg-dispatch-pg${processes}`, processes, { url: inSchema(db.url, `bench_${run}_${processes}`) })),
      ])
      started.push(level!, ...pg)
      let n = 0
      const side = (servers: Server[]) => async () => {
        const rate = await load(servers.map((s) => s.url), count, maxMs, n)
        n += count
        return rate
      }
      const results: Result[] = []
      for (const servers of pg) {
        const medians = await alternate(rounds, side(servers), side(level!))
        const processes = servers.length
        results.push(
          result({
            name: `pg-dispatch-${processes}`,
            value: medians.local,
            unit: 'msg/s',
            baseline: medians.baseline,
            target: { on: 'ratio', op: '>=', bound: processes === 1 ? 0.3 : 0.5 },
            note: `POST /bots/counter/messages over 10 connections into ${processes} localbot process${processes === 1 ? '' : 'es'} on one PostgreSQL database, vs one localbot on LevelDB, alternated`,
          }),
        )
      }
      return results
    } finally {
      await Promise.all(started.flat().map((s) => s.stop()))
      await db.stop()
    }
  },
}
