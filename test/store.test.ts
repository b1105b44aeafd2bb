import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { MemoryLevel } from 'memory-level'
import { lastOfEachKey, Store, type Db, type Op } from '../runtime/store/store.ts'
import { backends } from './support/backends.ts'

for (const backend of backends) {
  describe(`the store on ${backend.name}`, { skip: backend.skip }, () => {
    it('a staged batch is read at once, and written to LevelDB whole by the next flush', async () => {
      const { store, close } = await backend.open()
      await store.batch([
        { type: 'put', key: 'a', value: '1' },
        { type: 'put', key: 'b', value: '2' },
      ])
      assert.deepEqual(await store.getMany(['a', 'b', 'c']), ['1', '2', undefined])
      await store.flush()
      assert.deepEqual(await store.db.getMany(['a', 'b']), ['1', '2'])
      await close()
    })

    it('a read that names one key twice answers it twice, from LevelDB and then from the cache', async () => {
      const { store, close } = await backend.open()
      await store.batch([{ type: 'put', key: 'a', value: '1' }])
      await store.flush()
      assert.deepEqual(await store.getMany(['a', 'b', 'a', 'b']), ['1', undefined, '1', undefined])
      assert.deepEqual(await store.getMany(['a', 'a']), ['1', '1'])
      await close()
    })

    it('range reads see staged writes', async () => {
      const { store, close } = await backend.open()
      await store.batch([{ type: 'put', key: 'k1', value: '' }])
      assert.deepEqual(await store.keys({ gt: 'k', lt: 'l' }), ['k1'])
      await close()
    })

    it('the read cache follows every write: a value read, overwritten and deleted reads back right each time', async () => {
      const { store, close } = await backend.open()
      await store.batch([{ type: 'put', key: 'x', value: 'old' }])
      await store.flush()
      assert.equal(await store.get('x'), 'old')
      await store.batch([{ type: 'put', key: 'x', value: 'new' }])
      assert.equal(await store.get('x'), 'new')
      await store.flush()
      assert.equal(await store.get('x'), 'new')
      await store.batch([{ type: 'del', key: 'x' }])
      await store.flush()
      assert.equal(await store.get('x'), undefined)
      await close()
    })

    it('a read that took the old value before a write reached the database does not leave it in the cache', async () => {
      const { store, close } = await backend.open()
      await store.batch([{ type: 'put', key: 'r', value: 'v1' }])
      await store.flush()
      const reads = holdReads(store.db)
      const reading = store.get('r') // a miss: the database answers v1 at once, the answer waits
      await store.batch([{ type: 'put', key: 'r', value: 'v2' }])
      await store.flush() // v2 is in the database and no longer staged
      reads.release()
      assert.equal(await reading, 'v1')
      assert.equal(await store.get('r'), 'v2')
      await close()
    })
  })
}

/**
 * Makes the database's answers to reads wait until `release()`; each read takes its values when it is made
 * (both backends read a snapshot taken at the call), so a held read answers what was there then.
 */
function holdReads(db: Db): { release(): void } {
  const backend = db as unknown as { _getMany: (keys: unknown[], options: unknown) => Promise<unknown[]> }
  const read = backend._getMany.bind(db)
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  backend._getMany = async (keys, options) => {
    const values = await read(keys, options)
    await released
    return values
  }
  return { release }
}

describe('a failed write', () => {
  it('is raised by the next flush and every later write, and its values are not read back', async () => {
    const db = new MemoryLevel<string, string>()
    // abstract-level's private write method: the public batch() validates, then calls it.
    Object.assign(db, { _batch: async () => Promise.reject(new Error('IO error: /data/000004.log: Input/output error')) })
    const store = await Store.over(db as unknown as Db)
    await store.batch([{ type: 'put', key: 'lost', value: '1' }])
    await assert.rejects(store.flush(), /Input\/output error/)
    assert.equal(await store.get('lost'), undefined)
    await assert.rejects(store.batch([{ type: 'put', key: 'later', value: '2' }]), /Input\/output error/)
  })
})

describe('page walks', () => {
  it('a page token from before a restart names no walk of the new store, so it goes on over the live index', async () => {
    const db = new MemoryLevel<string, string>() as unknown as Db
    const before = await Store.over(db)
    const old = await before.openWalk()
    const after = await Store.over(db)
    await after.openWalk()
    assert.match(old, /^[0-9a-z]+$/) // what a page token may carry
    assert.equal(before.hasWalk(old), true)
    assert.equal(after.hasWalk(old), false)
  })
})

describe('lastOfEachKey (what a group commit writes)', () => {
  /** What a sequence of ops leaves in the database. */
  const apply = (ops: Op[]) => {
    const db = new Map<string, string>()
    for (const op of ops) op.type === 'put' ? db.set(op.key, op.value) : db.delete(op.key)
    return db
  }
  const op = fc.oneof(
    fc.record({ type: fc.constant('put' as const), key: fc.constantFrom('a', 'b', 'c', 'd'), value: fc.string({ maxLength: 3 }) }),
    fc.record({ type: fc.constant('del' as const), key: fc.constantFrom('a', 'b', 'c', 'd') }),
  )

  it('leaves the database as all the ops would, writing each key once', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const kept = lastOfEachKey(ops)
        assert.deepEqual([...apply(kept)].sort(), [...apply(ops)].sort())
        assert.equal(new Set(kept.map((o) => o.key)).size, kept.length)
        // Over a database that had every key: the deletes are kept too.
        const before = ['a', 'b', 'c', 'd'].map((key): Op => ({ type: 'put', key, value: 'old' }))
        assert.deepEqual([...apply([...before, ...kept])].sort(), [...apply([...before, ...ops])].sort())
      }),
    )
  })
})
