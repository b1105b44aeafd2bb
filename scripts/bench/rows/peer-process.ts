/**
 * The peer rows about a whole process, each system started as its users deploy it: localbot as the installed
 * package runs it (`node dist/cli.js`, `npm run build`'s plain JavaScript, no tsx), each peer's server bundled
 * to JavaScript by esbuild (its packages from node_modules). Same bots and messages as the other peer rows.
 * - peer-start: spawn to the first answered message over HTTP, every system in turn, each restarted over its
 *   own data folder (made by the warm-up round): the start a user makes again and again. Two floors run in the
 *   same turns and go into the note: a node process that loads nothing, and one that only loads Botpress's SDK
 *   (the copy the counter bot runs on), spawn to exit.
 * - peer-rss: resident memory of the server after 100,000 messages over HTTP (10 connections), 10,000
 *   conversations in turn; the row runs the systems one after another.
 */
import { execFile } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { alternateAll } from '../compare.ts'
import { PEER_CONVERSATIONS, peerMessage, telegramUpdate } from '../peers/messages.ts'
import { median, result, type Mode, type Row } from '../row.ts'
import { groupProcesses, startServer, type Server } from '../serve.ts'
import { benchBots, root } from '../seed.ts'
import { tempDir } from '../tmp.ts'
import { load, type LoadRequest } from './http.ts'

/** The bounds: the installed package's first answer, and its share of the fastest peer's. */
const START_MS = 250
const START_RATIO = 1.2
const RSS_MB = 120
const MB = 2 ** 20

/** A system as a server: how to start it over a data folder, and the request of message i. */
type System = { name: string; start: (data: string) => Promise<Server>; request: LoadRequest }

/** Builds localbot's installed JavaScript and bundles the peers' servers; returns the three systems. */
async function systems(): Promise<System[]> {
  await promisify(execFile)('npm', ['run', 'build'], { cwd: root })
  const out = join(root, 'scripts', 'bench', '.build')
  await mkdir(out, { recursive: true })
  const bundle = async (name: string) => {
    const outfile = join(out, `${name}.mjs`)
    await build({ entryPoints: [resolve(import.meta.dirname, '..', 'http', `${name}.ts`)], bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', outfile, logLevel: 'warning' })
    return outfile
  }
  const grammy = await bundle('grammy-server')
  const sqlite = await bundle('sqlite-server')
  const localbotRequest: LoadRequest = (i) => ({ path: '/bots/counter/messages', body: JSON.stringify(peerMessage(i)) })
  return [
    {
      name: 'localbot',
      start: (data) => startServer(process.execPath, [join(root, 'dist', 'cli.js'), benchBots.botsDir, '--data', data, '--port', '0', '--no-repl'], { cwd: root }),
      request: localbotRequest,
    },
    { name: 'grammy-level', start: (data) => startServer(process.execPath, [grammy, data], { cwd: root }), request: (i) => ({ path: '/telegram', body: JSON.stringify(telegramUpdate(i)) }) },
    { name: 'sqlite', start: (data) => startServer(process.execPath, [sqlite, data], { cwd: root }), request: localbotRequest },
  ]
}

/** Spawn to the first answer, ms: starts `system` over `data`, sends one message, stops it. */
async function firstAnswerMs(system: System, data: string): Promise<number> {
  const started = performance.now()
  const server = await system.start(data)
  try {
    await load(server.url, { count: 1, maxMs: Infinity, first: 0, request: system.request })
    return performance.now() - started
  } finally {
    await server.stop()
  }
}

/** Spawn to exit, ms, of `node -e code` in localbot's folder (so `@botpress/sdk` is the counter bot's copy). */
async function nodeRunMs(code: string): Promise<number> {
  const started = performance.now()
  await promisify(execFile)(process.execPath, ['-e', code], { cwd: root })
  return performance.now() - started
}

/** The resident memory of the server's own node process. */
function rssOf(server: Server): number {
  const own = groupProcesses(server.child.pid!).find((p) => p.pid === server.child.pid)
  if (!own) throw new Error(`no process ${server.child.pid}`)
  return own.rss
}

const format = (values: Record<string, number>, unit: string) =>
  Object.entries(values)
    .map(([name, v]) => `${name} ${v.toFixed(0)} ${unit}`)
    .join(', ')

export const rows: Row[] = [
  {
    name: 'peer-start',
    async run(mode: Mode) {
      const all = await systems()
      const rounds = mode === 'quick' ? { warmup: 1, rounds: 3 } : { warmup: 1, rounds: 7 }
      const folders = await Promise.all(all.map((system) => tempDir(`start-${system.name}`)))
      const floors = { 'node alone': () => nodeRunMs('0'), 'node loading @botpress/sdk': () => nodeRunMs("require('@botpress/sdk')") }
      const measured = await alternateAll(rounds, [...all.map((system, k) => () => firstAnswerMs(system, folders[k]!)), ...Object.values(floors)])
      const medians = Object.fromEntries(all.map((s, k) => [s.name, median(measured[k]!)]))
      const floorMedians = Object.fromEntries(Object.keys(floors).map((name, k) => [name, median(measured[all.length + k]!)]))
      const [local, ...peers] = all.map((s) => medians[s.name]!)
      const fastest = Math.min(...peers)
      const note = `process spawn to the first answered message over HTTP, each system restarted over its own data folder (median of ${rounds.rounds}, systems in turn, after a warm-up start that made the folder): ${format(medians, 'ms')}; localbot as installed (node dist/cli.js), the peers' servers bundled by esbuild; spawn to exit in the same turns: ${format(floorMedians, 'ms')}`
      return [
        result({ name: 'peer-start', value: local!, unit: 'ms', baseline: fastest, target: { on: 'ratio', op: '<=', bound: START_RATIO }, note: `${note}; against the fastest peer` }),
        result({ name: 'peer-start-installed', value: local!, unit: 'ms', target: { on: 'value', op: '<=', bound: START_MS }, note }),
      ]
    },
  },
  {
    name: 'peer-rss',
    async run(mode: Mode) {
      const all = await systems()
      const messages = mode === 'quick' ? 20_000 : 100_000
      const rss: Record<string, number> = {}
      for (const system of all) {
        const server = await system.start(await tempDir(`rss-${system.name}`))
        try {
          await load(server.url, { count: messages, maxMs: Infinity, first: 0, request: system.request })
          rss[system.name] = rssOf(server) / MB
        } finally {
          await server.stop()
        }
      }
      const { localbot, ...peers } = rss
      return [
        result({
          name: 'peer-rss',
          value: localbot!,
          unit: 'MB',
          baseline: Math.min(...Object.values(peers)),
          target: { on: 'value', op: '<=', bound: RSS_MB },
          note: `resident memory of the server process after ${messages.toLocaleString('en')} messages over HTTP (10 connections, ${PEER_CONVERSATIONS.toLocaleString('en')} conversations in turn): ${format(rss, 'MB')}; the baseline is the smallest peer`,
        }),
      ]
    },
  },
]
