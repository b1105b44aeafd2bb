/**
 * The ceiling of the in-process SQLite rows: how many messages a second one core can run through Botpress's
 * SDK alone (peers/sdk-alone.ts: the counter bot's handler over a client that stores nothing) against the
 * SQLite peer's whole job, alternated in one run, by CPU time (process.cpuUsage). A bot that runs on the
 * SDK, as localbot's do, answers no faster than this: the ratio is the most peer-sqlite-1 can reach if
 * everything else a message costs (its store, indexes, locks, durability) cost nothing.
 */
import { join } from 'node:path'
import { alternate } from '../compare.ts'
import { PEER_CONVERSATIONS, peerMessage } from '../peers/messages.ts'
import { sdkAlone } from '../peers/sdk-alone.ts'
import { sqliteBot } from '../peers/sqlite-bot.ts'
import { result, type Row } from '../row.ts'
import { tempDir } from '../tmp.ts'

/** msg/s of CPU: `count` messages from `first` on, one after another, over the CPU time they took. */
async function perCpuSecond(count: number, first: number, send: (i: number) => unknown): Promise<number> {
  const start = process.cpuUsage()
  for (let i = 0; i < count; i++) await send(first + i)
  const used = process.cpuUsage(start)
  return count / ((used.user + used.system) / 1e6)
}

export const row: Row = {
  name: 'sdk-ceiling',
  async run(mode) {
    const count = mode === 'quick' ? 5000 : 20_000
    const sdk = await sdkAlone()
    const sqlite = sqliteBot(join(await tempDir('ceiling-sqlite'), 'bot.db'), { synchronous: 'NORMAL' })
    try {
      for (let i = 0; i < PEER_CONVERSATIONS; i++) {
        await sdk.send(i)
        sqlite.handle(peerMessage(i))
      }
      let nextSdk = PEER_CONVERSATIONS
      let nextSqlite = PEER_CONVERSATIONS
      const { local, baseline } = await alternate(
        mode === 'quick' ? { warmup: 1, rounds: 3 } : { warmup: 1, rounds: 5 },
        () => perCpuSecond(count, (nextSdk += count) - count, (i) => sdk.send(i)),
        () => perCpuSecond(count, (nextSqlite += count) - count, (i) => sqlite.handle(peerMessage(i))),
      )
      return [
        result({
          name: 'sdk-ceiling',
          value: local,
          unit: 'msg/s of CPU',
          baseline,
          target: { on: 'ratio', op: '>=', bound: 1 },
          note: "Botpress's SDK alone (the counter bot's bot.handler for a message_created event, its client keeping states in a Map and storing nothing) against the SQLite peer's whole job, by CPU time, one message after another: the most peer-sqlite-1 could reach if everything else a message costs in localbot (store, indexes, locks, durability) cost nothing",
        }),
      ]
    } finally {
      sqlite.close()
    }
  },
}
