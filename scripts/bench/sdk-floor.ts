/**
 * `node --import tsx scripts/bench/sdk-floor.ts [COUNT]`: the least CPU a message can cost when a bot runs on
 * Botpress's SDK through its handler protocol, against the peers' whole job, in one run.
 *
 * - sdk-handler: the counter bot on the SDK over a client that stores nothing (peers/sdk-alone.ts).
 * - sqlite: the SQLite peer's whole job (transaction, upsert, two inserts), one message after another.
 * - grammy-level: the grammY peer's whole job (`handleUpdate`, session read and write, one batch), likewise.
 * - localbot: the counter bot in the runtime, 1 in flight, as in the peer rows.
 * - level-17-keys: LevelDB alone writing what localbot writes for one message (17 keys in one batch: the message,
 *   its reply, the state and the event, with their list indexes; `profile.ts` counts them), nothing else.
 * - level-17-keys-x10: the same keys, ten messages a batch: what localbot's store makes of 10 turns in flight
 *   (about 0.1 batches a message in `profile.ts`).
 * - level-3-keys: LevelDB alone writing the message, its reply and the state, with no event and no index: what
 *   a message would cost in LevelDB if localbot kept neither.
 * - level-1-key: LevelDB alone writing one small key a message: what any batch costs, whatever it holds (the
 *   hand-over to LevelDB's thread and back; on a virtual machine whose idle cores sleep, most of it is waking one).
 * LevelDB gets the store's own call (classic-level's `_batch`; see `directBatch` in runtime/store/store.ts), and
 * the LevelDB sides' figures include building their ops (JSON and keys), as localbot's store does too.
 *
 * Each is CPU µs per message (process.cpuUsage, so LevelDB's threads count), alternated over three rounds.
 * Once localbot's side has run a handler, Node's promise hooks (its AsyncLocalStorage) stay on for every side:
 * the figures are side by side, not each side alone.
 */
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { putIndex } from '../../runtime/client/indexing.ts'
import * as layout from '../../runtime/store/layout.ts'
import type { Op } from '../../runtime/store/store.ts'
import { grammyBot } from './peers/grammy-bot.ts'
import { PEER_CONVERSATIONS, peerMessage, telegramUpdate } from './peers/messages.ts'
import { sdkAlone } from './peers/sdk-alone.ts'
import { sqliteBot } from './peers/sqlite-bot.ts'
import { median } from './row.ts'
import { localbotSide } from './rows/peers.ts'
import { removeTempDirs, tempDir } from './tmp.ts'

const count = Number(process.argv[2] ?? 20_000)

type Side = { name: string; send: (i: number) => Promise<unknown> | unknown }

const sqlite = sqliteBot(join(await tempDir('floor-sqlite'), 'bot.db'), { synchronous: 'NORMAL' })
const grammy = await grammyBot(await tempDir('floor-grammy'))
const local = await localbotSide({})
// Each LevelDB side has its own database, so that one's compactions are not counted against another.
const levels: ClassicLevel<string, string>[] = []
async function levelWriter(label: string): Promise<(ops: Op[]) => Promise<void>> {
  const level = new ClassicLevel<string, string>(await tempDir(label), { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await level.open()
  levels.push(level)
  const own = level as unknown as { _batch: (ops: Op[], options: object) => Promise<void> }
  return (ops) => own._batch(ops, {})
}
const [write17, write17x10, write3, write1] = [
  await levelWriter('floor-level-17'),
  await levelWriter('floor-level-17x10'),
  await levelWriter('floor-level-3'),
  await levelWriter('floor-level-1'),
]
// The ten-a-batch side writes on every tenth message: a round of COUNT messages must end on one.
if (count % 10 !== 0) throw new Error(`COUNT must be a multiple of 10 (got ${count})`)
let tenth: Op[] = []
const sides: Side[] = [
  { name: 'sdk-handler', ...(await sdkAlone()) },
  { name: 'sqlite', send: (i) => sqlite.handle(peerMessage(i)) },
  { name: 'grammy-level', send: (i) => grammy.bot.handleUpdate(telegramUpdate(i)) },
  { name: 'localbot', send: local.send },
  { name: 'level-17-keys', send: (i) => write17(messageOps(i, true)) },
  {
    name: 'level-17-keys-x10',
    send: (i) => {
      tenth.push(...messageOps(i, true))
      if (i % 10 !== 9) return
      const ops = tenth
      tenth = []
      return write17x10(ops)
    },
  },
  { name: 'level-3-keys', send: (i) => write3(messageOps(i, false)) },
  { name: 'level-1-key', send: (i) => write1([{ type: 'put', key: `k${i % PEER_CONVERSATIONS}`, value: '1' }]) },
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
for (const side of sides) process.stdout.write(`${side.name.padEnd(18)} ${median(cpu[side.name]!).toFixed(0).padStart(5)} µs CPU per message (rounds: ${cpu[side.name]!.map((x) => x.toFixed(0)).join(', ')})\n`)
sqlite.close()
await grammy.close()
await local.close()
for (const level of levels) await level.close()
await removeTempDirs()

/**
 * The keys of message i's turn, built by the store's own layout (runtime/store/layout.ts): with `indexed`, the 17 of
 * a turn in a conversation that exists (message, reply and event records, the state, and the entries of the
 * messages' and the event's list indexes, the event's `pending` entry deleted as it becomes `processed`); without,
 * the message, the reply and the state.
 */
function messageOps(i: number, indexed: boolean): Op[] {
  const { userId, conversationId, text } = peerMessage(i)
  const bot = 'counter'
  const now = Date.now()
  const at = new Date(now).toISOString()
  const id = (kind: string) => `${kind}_${String(now).padStart(15, '0')}${String(i).padStart(11, '0')}`
  const record = (fields: object) => JSON.stringify({ createdAt: at, updatedAt: at, ...fields })
  const [incoming, reply, event] = [id('msg'), id('msr'), id('evt')]
  const message = (mid: string, direction: string, from: string, said: string) =>
    record({ id: mid, type: 'text', payload: { text: said }, direction, userId: from, conversationId, tags: {} })
  const records: Op[] = [
    { type: 'put', key: layout.messages.record(bot, incoming), value: message(incoming, 'incoming', userId, text) },
    { type: 'put', key: layout.messages.record(bot, reply), value: message(reply, 'outgoing', bot, `#1 ${text}`) },
    { type: 'put', key: layout.states.record(bot, 'conversation', conversationId, 'counter'), value: record({ id: conversationId, type: 'conversation', name: 'counter', payload: { count: i } }) },
  ]
  if (!indexed) return records
  const fields = { type: 'message_created', conversationId, userId, messageId: incoming } as const
  return [
    ...records,
    ...[incoming, reply].flatMap((mid, k) => [
      putIndex(layout.messages.byTime(bot, now, mid)),
      putIndex(layout.messages.byConversation(bot, conversationId, now, mid)),
      putIndex(layout.messages.byUser(bot, k === 0 ? userId : bot, mid)),
    ]),
    { type: 'put', key: layout.events.record(bot, event), value: record({ id: event, ...fields, payload: {}, status: 'processed', failureReason: null }) },
    putIndex(layout.events.byTime(bot, now, event)),
    ...Object.entries(fields).map(([field, value]) => putIndex(layout.events.byField(bot, field as layout.EventFilter, value, now, event))),
    { type: 'del', key: layout.events.byField(bot, 'status', 'pending', now, event) },
    putIndex(layout.events.byField(bot, 'status', 'processed', now, event)),
  ]
}
