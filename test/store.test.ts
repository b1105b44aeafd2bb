import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { Store, type Db } from '../runtime/store/store.ts'
import { backends } from './support/backends.ts'

for (const backend of backends) {
  describe(`the store on ${backend.name}`, () => {
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

    it('a read in flight when a write lands does not fill the cache with the old value', async () => {
      const { store, close } = await backend.open()
      await store.batch([{ type: 'put', key: 'r', value: 'v1' }])
      await store.flush()
      const reading = store.get('r') // a miss: goes to LevelDB
      await store.batch([{ type: 'put', key: 'r', value: 'v2' }])
      await reading
      await store.flush()
      assert.equal(await store.get('r'), 'v2')
      await close()
    })
  })
}

describe('a failed write', () => {
  it('is raised by the next flush and every later write, and its values are not read back', async () => {
    const db = new MemoryLevel<string, string>()
    // abstract-level's private write method: the public batch() validates, then calls it.
    Object.assign(db, { _batch: async () => Promise.reject(new Error('disk full')) })
    const store = await Store.over(db as unknown as Db)
    await store.batch([{ type: 'put', key: 'lost', value: '1' }])
    await assert.rejects(store.flush(), /disk full/)
    assert.equal(await store.get('lost'), undefined)
    await assert.rejects(store.batch([{ type: 'put', key: 'later', value: '2' }]), /disk full/)
  })
})
