import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { UnavailableError } from '../runtime/client/errors.ts'
import { Store, type Db, type Op, type StoreHealth, type StoreOptions } from '../runtime/store/store.ts'

const put = (key: string, value: string): Op => ({ type: 'put', key, value })

/** How classic-level reports a write LevelDB could not make: LEVEL_IO_ERROR with the system's words. */
const ioError = (words: string) => Object.assign(new Error(`IO error: /data/000004.log: ${words}`), { code: 'LEVEL_IO_ERROR' })

/** memory-level whose writes fail with `failure` until `recover()`; `written` holds the keys of every write that went through. */
function failingDisk() {
  const db = new MemoryLevel<string, string>()
  const backend = db as unknown as { _batch: (ops: Op[], options: unknown) => Promise<void> }
  const write = backend._batch.bind(db)
  const disk = { db: db as unknown as Db, written: [] as string[][], failure: undefined as Error | undefined }
  backend._batch = async (ops, options) => {
    if (disk.failure) throw disk.failure
    disk.written.push(ops.map((op) => String(op.key))) // memory-level hands its backend encoded keys
    return write(ops, options)
  }
  return disk
}

/** A ticker the test drives: `second()` runs the store's retry as if a second had passed. */
function handTicker() {
  const hand = { running: false, tick: async () => {} }
  const ticker: NonNullable<StoreOptions['ticker']> = (tick) => {
    hand.running = true
    hand.tick = tick
    return () => void (hand.running = false)
  }
  return { ticker, hand, second: () => (hand.running ? hand.tick() : Promise.resolve()) }
}

const reasonOf = (health: StoreHealth) => (health.ok ? 'ok' : health.reason)
const unavailable = (says: RegExp) => (error: unknown) => error instanceof UnavailableError && error.code === 503 && says.test(error.message)
const diskFull = unavailable(/^the disk is full: nothing more can be written until space is freed; retry later$/)

async function open() {
  const disk = failingDisk()
  const retries = handTicker()
  const store = await Store.over(disk.db, { ticker: retries.ticker })
  return { disk, retries, store }
}

describe('a full disk', () => {
  it('a write it refuses stays readable, writers are told to retry later, and it is saved once, after space is freed', async () => {
    const { disk, retries, store } = await open()
    disk.failure = ioError('No space left on device')
    await store.batch([put('a', '1')])
    await assert.rejects(store.flush(), diskFull)
    assert.equal(await store.get('a'), '1')
    assert.deepEqual(store.health(), { ok: false, reason: 'disk-full', message: 'the disk is full: nothing more can be written until space is freed; retry later' })

    // A new write retries the refused one first; still full, so it is refused and nothing of it is staged.
    await assert.rejects(store.batch([put('b', '2')]), diskFull)
    assert.equal(await store.get('b'), undefined)
    await retries.second()
    assert.equal(store.health().ok, false)

    disk.failure = undefined
    await retries.second()
    assert.deepEqual(store.health(), { ok: true })
    assert.equal(retries.hand.running, false)
    await store.batch([put('b', '2')])
    await store.flush()
    assert.deepEqual(await disk.db.iterator().all(), [
      ['a', '1'],
      ['b', '2'],
    ])
    assert.deepEqual(disk.written, [['a'], ['b']])
    await store.close()
  })

  it('writes staged while the refused group was on its way are saved after it, in order', async () => {
    const { disk, retries, store } = await open()
    disk.failure = ioError('No space left on device')
    await store.batch([put('x', 'old')])
    const flushing = store.flush()
    await store.batch([put('x', 'new'), put('y', '1')])
    await assert.rejects(flushing, diskFull)
    assert.deepEqual(await store.getMany(['x', 'y']), ['new', '1'])

    disk.failure = undefined
    await retries.second()
    assert.deepEqual(await disk.db.iterator().all(), [
      ['x', 'new'],
      ['y', '1'],
    ])
    await store.close()
  })

  it('the next flush retries by itself, without waiting for the second', async () => {
    const { disk, store } = await open()
    disk.failure = ioError('No space left on device')
    await store.batch([put('a', '1')])
    await assert.rejects(store.flush(), diskFull)
    disk.failure = undefined
    await store.flush()
    assert.equal(await disk.db.get('a'), '1')
    await store.close()
  })

  it('closing while the disk is still full closes the database and says how many writes were not saved', async () => {
    const { disk, retries, store } = await open()
    disk.failure = ioError('No space left on device')
    await store.batch([put('a', '1'), put('b', '2')])
    await assert.rejects(store.flush(), diskFull)
    await assert.rejects(store.close(), unavailable(/^the disk is full: 2 staged writes could not be saved before the store closed$/))
    assert.equal(disk.db.status, 'closed')
    assert.equal(retries.hand.running, false)
  })
})

describe('out of file descriptors', () => {
  it('is told apart from a full disk and passes the same way', async () => {
    const { disk, retries, store } = await open()
    disk.failure = ioError('Too many open files')
    await store.batch([put('a', '1')])
    await assert.rejects(store.flush(), unavailable(/^the process is out of file descriptors: nothing more can be written until some are freed; retry later$/))
    assert.equal(reasonOf(store.health()), 'out-of-descriptors')
    disk.failure = undefined
    await retries.second()
    assert.deepEqual(store.health(), { ok: true })
    assert.equal(await disk.db.get('a'), '1')
    await store.close()
  })
})

describe('any other write failure', () => {
  it('stays failed: later writes raise it, health says so, and closing the store still resolves', async () => {
    const { disk, retries, store } = await open()
    disk.failure = ioError('Input/output error')
    await store.batch([put('a', '1')])
    const flushing = store.flush()
    await store.batch([put('c', '3')])
    await assert.rejects(flushing, /Input\/output error/)
    assert.equal(retries.hand.running, false)
    // Neither the failed group nor what was staged behind it will be written: neither is read back.
    assert.deepEqual(await store.getMany(['a', 'c']), [undefined, undefined])
    await assert.rejects(store.batch([put('b', '2')]), /Input\/output error/)
    assert.equal(reasonOf(store.health()), 'failed')
    await store.close()
    assert.equal(disk.db.status, 'closed')
  })
})
