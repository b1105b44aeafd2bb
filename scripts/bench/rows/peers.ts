/**
 * The peer rows: localbot's counter bot against the same job done the way other stacks do it, each peer
 * side alternated with a localbot side in one run, same messages (peers/messages.ts: 10,000
 * conversations in turn) and the same concurrency. In-process with 1 and 10 messages in flight, over
 * HTTP with 10 connections (the http row's load), and SQLite with synchronous=FULL against localbot's
 * `fsync: true`. Before measuring, every side handles one message of each conversation (10 in flight),
 * so the rounds meet conversations that exist. `ratio` is localbot's msg/s over the peer's.
 */
import { join, resolve } from 'node:path'
import { startRuntime } from '../../../runtime/runtime.ts'
import { Store, type StoreOptions } from '../../../runtime/store/store.ts'
import { systemClock } from '../../../runtime/time/clock.ts'
import { alternate, opsPerSecondInFlight } from '../compare.ts'
import { grammyBot } from '../peers/grammy-bot.ts'
import { PEER_CONVERSATIONS, peerMessage, telegramUpdate } from '../peers/messages.ts'
import { sqliteBot } from '../peers/sqlite-bot.ts'
import { result, type Mode, type Result, type Row } from '../row.ts'
import { startServer, type Server } from '../serve.ts'
import { benchBots, quietLogger, root } from '../seed.ts'
import { tempDir } from '../tmp.ts'
import { load, type LoadRequest } from './http.ts'

/** One side in-process: `send(i)` handles message i and settles when it is answered and stored. */
type Side = { send: (i: number) => Promise<unknown>; close: () => Promise<void> }

/** One side over HTTP: a server process and the request of message i. */
type ServedSide = { server: Server; request: LoadRequest }

/** A peer: how it runs in-process (storing durably as asked) and as a server. */
type Peer = {
  name: string
  /** What the peer persists and how durably, with or without fsync: the rows' note. */
  note: (fsync: boolean) => string
  inProcess: (options: { fsync: boolean }) => Promise<Side>
  serve: () => Promise<ServedSide>
}

const peers: Record<'grammy-level' | 'sqlite', Peer> = {
  'grammy-level': {
    name: 'grammy-level',
    note: () =>
      "a grammY bot (bot.handleUpdate of a Telegram update carrying the same text; the Telegram API answered in-process) whose session middleware keeps { count } per chat in LevelDB (its own classic-level adapter), and whose handler ctx.reply's and stores the incoming message and the reply in one batch: a put and a batch of two per message, no fsync (as localbot's default store). grammY's session has no per-chat lock; 10,000 conversations in turn never put two messages of one chat in flight",
    inProcess: async () => {
      const { bot, close } = await grammyBot(await tempDir('peer-grammy'))
      return { send: (i) => bot.handleUpdate(telegramUpdate(i)), close }
    },
    serve: async () => ({
      server: await startServer(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, '..', 'http', 'grammy-server.ts'), await tempDir('peer-grammy-http')], { cwd: root }),
      request: (i) => ({ path: '/telegram', body: JSON.stringify(telegramUpdate(i)) }),
    }),
  },
  sqlite: {
    name: 'sqlite',
    note: (fsync) =>
      `better-sqlite3 in WAL mode, prepared statements, one transaction per message: the counter upserted (RETURNING count), the message and the reply inserted into an indexed messages table; ${fsync ? 'synchronous=FULL, the WAL fsynced at every commit; localbot with Store.open(dir, { fsync: true })' : "synchronous=NORMAL, so no fsync per commit (as localbot's default store)"}; over HTTP a bare node:http server answering the same JSON`,
    inProcess: async ({ fsync }) => {
      const bot = sqliteBot(join(await tempDir('peer-sqlite'), 'bot.db'), { synchronous: fsync ? 'FULL' : 'NORMAL' })
      return { send: async (i) => bot.handle(peerMessage(i)), close: async () => bot.close() }
    },
    serve: async () => ({
      server: await startServer(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, '..', 'http', 'sqlite-server.ts'), await tempDir('peer-sqlite-http')], { cwd: root }),
      request: (i) => ({ path: '/bots/counter/messages', body: JSON.stringify(peerMessage(i)) }),
    }),
  },
}

/** localbot's counter bot in-process over a store in a new folder opened with `options`. */
export async function localbotSide(options: StoreOptions): Promise<Side> {
  const store = await Store.open(await tempDir('peer-local'), options)
  const runtime = await startRuntime({ ...benchBots, store, clock: systemClock, logger: quietLogger() })
  if (runtime.failures.length > 0) throw runtime.failures[0]
  return {
    send: (i) => {
      const { userId, conversationId, text } = peerMessage(i)
      return runtime.dispatcher.sendMessage('counter', { userId, conversationId, type: 'text', payload: { text } })
    },
    close: () => runtime.close(),
  }
}

/** localbot's server as `npm start` runs it, over a new data folder. */
async function localbotServed(): Promise<ServedSide> {
  const server = await startServer(
    process.execPath,
    ['--import', 'tsx', 'runtime/main.ts', '--bots', benchBots.botsDir, '--data', await tempDir('peer-local-http'), '--port', '0', '--no-repl'],
    { cwd: root },
  )
  return { server, request: (i) => ({ path: '/bots/counter/messages', body: JSON.stringify(peerMessage(i)) }) }
}

/** A round's budget (messages, ms) and the rounds, by mode. */
function plan(mode: Mode) {
  return mode === 'quick'
    ? { count: 2000, maxMs: 2000, rounds: { warmup: 1, rounds: 5 } }
    : { count: 5000, maxMs: 5000, rounds: { warmup: 2, rounds: 9 } }
}

/** A round of `side`: the next messages of its run, `inFlight` at a time; msg/s. */
function rounds(side: Side, { count, maxMs, inFlight }: { count: number; maxMs: number; inFlight: number }) {
  let next = PEER_CONVERSATIONS
  return () => opsPerSecondInFlight({ count, maxMs, inFlight }, () => side.send(next++))
}

/** Every conversation's first message, 10 in flight. */
async function prime(side: Side): Promise<void> {
  await opsPerSecondInFlight({ count: PEER_CONVERSATIONS, maxMs: Infinity, inFlight: 10 }, (i) => side.send(i))
}

/** An in-process row: localbot and `peer` alternated, `inFlight` messages at a time, each storing with fsync or not. */
function inProcessRow(peer: Peer, { inFlight, fsync, name }: { inFlight: number; fsync: boolean; name: string }): Row {
  return {
    name,
    async run(mode) {
      const { count, maxMs, rounds: plan_ } = plan(mode)
      // Synced rounds are capped harder: a synced write may take milliseconds.
      const budget = { count, maxMs: fsync ? maxMs / 2 : maxMs, inFlight }
      const local = await localbotSide({ fsync })
      const other = await peer.inProcess({ fsync })
      try {
        await prime(local)
        await prime(other)
        const medians = await alternate(plan_, rounds(local, budget), rounds(other, budget))
        return [peerResult(name, medians, peer.note(fsync), `in-process, ${inFlight} in flight`)]
      } finally {
        await local.close()
        await other.close()
      }
    },
  }
}

/** The HTTP row: localbot's server and the peer's, the http row's load of 10 connections on each in turn. */
function httpRow(peer: Peer): Row {
  const name = `peer-${peer.name}-http`
  return {
    name,
    async run(mode) {
      const { count, maxMs, rounds: plan_ } = plan(mode)
      const sides = [await localbotServed(), await peer.serve()]
      try {
        for (const { server, request } of sides) await load(server.url, { count: PEER_CONVERSATIONS, maxMs: Infinity, first: 0, request })
        const next = sides.map(() => PEER_CONVERSATIONS)
        const round = (k: number) => async () => {
          const rate = await load(sides[k]!.server.url, { count, maxMs, first: next[k]!, request: sides[k]!.request })
          next[k]! += count
          return rate
        }
        const medians = await alternate(plan_, round(0), round(1))
        return [peerResult(name, medians, peer.note(false), 'over HTTP, 10 keep-alive connections (undici), localbot as `npm start` runs it')]
      } finally {
        for (const { server } of sides) await server.stop()
      }
    },
  }
}

function peerResult(name: string, medians: { local: number; baseline: number }, note: string, how: string): Result {
  return result({ name, value: medians.local, unit: 'msg/s', baseline: medians.baseline, target: { on: 'ratio', op: '>=', bound: 1 }, note: `${how}; the peer: ${note}` })
}

/** The peer rows, by name. */
export const rows: Row[] = [
  inProcessRow(peers['grammy-level'], { name: 'peer-grammy-level-1', inFlight: 1, fsync: false }),
  inProcessRow(peers['grammy-level'], { name: 'peer-grammy-level-10', inFlight: 10, fsync: false }),
  httpRow(peers['grammy-level']),
  inProcessRow(peers.sqlite, { name: 'peer-sqlite-1', inFlight: 1, fsync: false }),
  inProcessRow(peers.sqlite, { name: 'peer-sqlite-10', inFlight: 10, fsync: false }),
  httpRow(peers.sqlite),
  inProcessRow(peers.sqlite, { name: 'peer-sqlite-fsync', inFlight: 1, fsync: true }),
]
