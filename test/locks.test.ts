import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Locks } from '../runtime/store/lock.ts'

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { opened, open }
}

describe('locks in one process', () => {
  test('holders of a shared lock run together; an exclusive holder waits for them, and later holders wait for it', async () => {
    const locks = new Locks()
    const log: string[] = []
    const first = gate()
    const a = locks.hold({ shared: ['x'] }, async () => {
      log.push('a in')
      await first.opened
      log.push('a out')
    })
    const b = locks.hold({ shared: ['x'] }, async () => void log.push('b'))
    const c = locks.hold({ exclusive: ['x'] }, async () => void log.push('c'))
    const d = locks.hold({ shared: ['x'] }, async () => void log.push('d'))
    await b
    first.open()
    await Promise.all([a, c, d])
    assert.deepEqual(log, ['a in', 'b', 'a out', 'c', 'd'])
  })

  test('a name asked for both shared and alone is held alone', async () => {
    const locks = new Locks()
    const log: string[] = []
    const first = gate()
    const a = locks.hold({ shared: ['x', 'y'], exclusive: ['x'] }, async () => {
      log.push('a in')
      await first.opened
      log.push('a out')
    })
    const b = locks.hold({ shared: ['x'] }, async () => void log.push('b'))
    await Promise.resolve()
    first.open()
    await Promise.all([a, b])
    assert.deepEqual(log, ['a in', 'a out', 'b'])
  })

  test('work that throws, at once or later, lets its locks go', async () => {
    const locks = new Locks()
    await assert.rejects(locks.hold({ exclusive: ['x'] }, () => { throw new Error('at once') }), /at once/)
    await assert.rejects(locks.hold({ exclusive: ['x'] }, async () => { throw new Error('later') }), /later/)
    assert.equal(await locks.hold({ exclusive: ['x'] }, async () => 'free'), 'free')
  })
})
