/**
 * `node --import tsx scripts/bench/sdk-floor.ts [COUNT]`: the least CPU a message can cost when a bot runs on
 * Botpress's SDK through its handler protocol, against the peers' whole job, in one run.
 *
 * - sdk-handler: the counter bot on the SDK over a client that stores nothing (peers/sdk-alone.ts).
 * - sqlite: the SQLite peer's whole job (transaction, upsert, two inserts), one message after another.
 * - grammy-level: the grammY peer's whole job (`handleUpdate`, session read and write, one batch), likewise.
 * - localbot: the counter bot in the runtime, 1 in flight, as in the peer rows.
 *
 * Each is CPU µs per message (process.cpuUsage, so LevelDB's threads count), alternated over three rounds.
 */
import { join } from 'node:path'
import { grammyBot } from './peers/grammy-bot.ts'
import { PEER_CONVERSATIONS, peerMessage, telegramUpdate } from './peers/messages.ts'
import { sdkAlone } from './peers/sdk-alone.ts'
import { sqliteBot } from './peers/sqlite-bot.ts'
import { median } from './row.ts'
import { localbotSide } from './rows/peers.ts'
import { tempDir } from './tmp.ts'

const count = Number(process.argv[2] ?? 20_000)

type Side = { name: string; send: (i: number) => Promise<unknown> | unknown }

const sqlite = sqliteBot(join(await tempDir('floor-sqlite'), 'bot.db'), { synchronous: 'NORMAL' })
const grammy = await grammyBot(await tempDir('floor-grammy'))
const local = await localbotSide({})
const sides: Side[] = [
  { name: 'sdk-handler', ...(await sdkAlone()) },
  { name: 'sqlite', send: (i) => sqlite.handle(peerMessage(i)) },
  { name: 'grammy-level', send: (i) => grammy.bot.handleUpdate(telegramUpdate(i)) },
  { name: 'localbot', send: local.send },
]
const cpu: Record<string, number[]> = {}
for (const side of sides) for (let i = 0; i < PEER_CONVERSATIONS; i++) await side.send(i)
let next = PEER_CONVERSATIONS
for (let round = 0; round < 3; round++) {
  for (const side of sides) {
    const start = process.cpuUsage()
    for (let i = 0; i < count; i++) await side.send(next + i)
    const used = process.cpuUsage(start)
    ;(cpu[side.name] ??= []).push((used.user + used.system) / count)
  }
  next += count
}
for (const side of sides) process.stdout.write(`${side.name.padEnd(13)} ${median(cpu[side.name]!).toFixed(0).padStart(5)} µs CPU per message (rounds: ${cpu[side.name]!.map((x) => x.toFixed(0)).join(', ')})\n`)
sqlite.close()
await grammy.close()
await local.close()
