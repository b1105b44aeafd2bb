import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { startHttp } from '../runtime/faces/http.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime } from '../runtime/runtime.ts'
import { Store } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

/** Counts the batches that reach classic-level and the keys each wrote. */
function countBatches(store: Store): number[] {
  const sizes: number[] = []
  const db = store.db as unknown as { _batch: (ops: unknown[], options: unknown) => Promise<void> }
  const write = db._batch.bind(db)
  db._batch = (ops, options) => {
    sizes.push(ops.length)
    return write(ops, options)
  }
  return sizes
}

describe('a message turn on LevelDB', () => {
  it('reaches the database as one batch, although its reads waited on the disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'localbot-group-'))
    // Writes wait for the turn as long as it takes: the test does not depend on how fast this machine is.
    const store = await Store.open(dir, { maxDeferMs: 60_000 })
    const runtime = await startRuntime({ botsDir: resolve('bots'), store, clock: new VirtualClock(), logger: createLogger({ level: 'silent' }) })
    await runtime.ready
    try {
      const sizes = countBatches(store)
      for (let i = 0; i < 3; i++) {
        sizes.length = 0
        // A new conversation each time: the reads of its user, conversation and state miss the read cache.
        const sent = await runtime.dispatcher.sendMessage('echo', { userId: `u${i}`, conversationId: `c${i}`, type: 'text', payload: { text: 'hi' } })
        assert.equal(sent.replies[0]?.payload.text, '#1 hi')
        assert.equal(sizes.length, 1, `one batch per turn, not ${JSON.stringify(sizes)}`)
      }
      // The turn's batch holds the incoming message, the user, the conversation, the state and the reply.
      const reopened = runtime.dispatcher.clientOf('echo')
      const { messages } = await reopened.listMessages({ conversationId: 'c2' })
      assert.deepEqual(messages.map((m) => m.payload.text).sort(), ['#1 hi', 'hi'])
    } finally {
      await runtime.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("answers a call to Botpress's API over HTTP only once what it wrote is in the database, while turns hold back the others' writes", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'localbot-group-'))
    const store = await Store.open(dir, { maxDeferMs: 60_000 })
    const runtime = await startRuntime({ botsDir: resolve('bots'), store, clock: new VirtualClock(), logger: createLogger({ level: 'silent' }) })
    await runtime.ready
    const { server, url } = await startHttp(runtime, { host: '127.0.0.1', port: 0 })
    // A turn under way (a handler waiting on the network, say): writes staged meanwhile wait for its flush.
    const endTurn = store.begin()
    try {
      const res = await fetch(`${url}/v1/chat/users`, { method: 'POST', headers: { 'x-bot-id': 'echo', 'content-type': 'application/json' }, body: JSON.stringify({ tags: {}, name: 'Ada' }) })
      assert.equal(res.status, 200)
      const { user } = (await res.json()) as { user: { id: string; name: string } }
      // Read from LevelDB itself, past the store's staged writes and read cache.
      const stored = await store.db.get(`b\u0000echo\u0000u\u0000${user.id}`)
      assert.equal(JSON.parse(stored ?? 'null')?.name, 'Ada')
    } finally {
      endTurn()
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
      await runtime.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
