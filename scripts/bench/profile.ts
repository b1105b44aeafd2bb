/**
 * `node --cpu-prof --import tsx scripts/bench/profile.ts [COUNT] [IN_FLIGHT]`: localbot's side of the peer
 * rows alone (the counter bot over a new LevelDB folder, 10,000 conversations in turn), for a CPU profile
 * of one lever at a time. Prints msg/s and how many LevelDB batches and keys each message cost.
 */
import { startRuntime } from '../../runtime/runtime.ts'
import { Store } from '../../runtime/store/store.ts'
import { systemClock } from '../../runtime/time/clock.ts'
import { opsPerSecondInFlight } from './compare.ts'
import { PEER_CONVERSATIONS, peerMessage } from './peers/messages.ts'
import { benchBots, quietLogger } from './seed.ts'
import { removeTempDirs, tempDir } from './tmp.ts'

const count = Number(process.argv[2] ?? 20_000)
const inFlight = Number(process.argv[3] ?? 1)
const store = await Store.open(await tempDir('profile'))
const batches = { calls: 0, keys: 0 }
// The store writes through classic-level's _batch (see Store's directBatch).
const db = store.db as unknown as { _batch: (ops: unknown[], options: unknown) => Promise<void> }
const batch = db._batch.bind(db)
db._batch = (ops, options) => {
  batches.calls++
  batches.keys += ops.length
  return batch(ops, options)
}
const reads = { calls: 0, keys: 0 }
const getMany = store.db.getMany.bind(store.db) as (keys: string[]) => Promise<unknown>
;(store.db as unknown as { getMany: typeof getMany }).getMany = (keys) => {
  reads.calls++
  reads.keys += keys.length
  if (process.env.SHOW_READS && reads.calls < 6) console.log(keys)
  return getMany(keys)
}
const runtime = await startRuntime({ ...benchBots, store, clock: systemClock, logger: quietLogger() })
const send = (i: number) => {
  const { userId, conversationId, text } = peerMessage(i)
  return runtime.dispatcher.sendMessage('counter', { userId, conversationId, type: 'text', payload: { text } })
}
await opsPerSecondInFlight({ count: PEER_CONVERSATIONS, maxMs: Infinity, inFlight: 10 }, (i) => send(i))
batches.calls = batches.keys = reads.calls = reads.keys = 0
// PROFILE_OUT=file.cpuprofile: a CPU profile of the measured messages only (not the start or the first round).
const inspector = process.env.PROFILE_OUT ? new (await import('node:inspector')).Session() : undefined
const post = (method: string) => new Promise<any>((resolve, reject) => inspector!.post(method, (error, result) => (error ? reject(error) : resolve(result))))
if (inspector) {
  inspector.connect()
  await post('Profiler.enable')
  await post('Profiler.start')
}
const cpu = process.cpuUsage()
const rate = await opsPerSecondInFlight({ count, maxMs: Infinity, inFlight }, (i) => send(PEER_CONVERSATIONS + i))
const used = process.cpuUsage(cpu)
if (inspector) {
  const { profile } = await post('Profiler.stop')
  const { writeFile } = await import('node:fs/promises')
  await writeFile(process.env.PROFILE_OUT!, JSON.stringify(profile))
}
process.stdout.write(`${rate.toFixed(0)} msg/s, ${((used.user + used.system) / count).toFixed(0)} µs CPU per message, ${(batches.calls / count).toFixed(2)} batches and ${(batches.keys / count).toFixed(1)} keys per message, ${(reads.calls / count).toFixed(2)} reads of ${(reads.keys / count).toFixed(1)} keys, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`)
await runtime.close()
// The data folder goes: a run of 20,000 messages leaves about 80 MB.
await removeTempDirs()
