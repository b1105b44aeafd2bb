import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createBus } from '../runtime/dispatch/bus.ts'
import { createLogger, mergeFields } from '../runtime/log.ts'
import type { Store } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'
import { Timeline } from '../runtime/timeline.ts'
import { testBot } from '../runtime/testing.ts'

describe('log lines', () => {
  it('carry the time: an ISO time in JSON, the time of day to the millisecond in text; a field without a value is left out', () => {
    const lines: string[] = []
    createLogger({ sink: { json: true, write: (l) => lines.push(l) } }).info('event handled', { bot: 'b', conversation: undefined, status: 'processed' })
    createLogger({ sink: { json: false, write: (l) => lines.push(l) } }).warn('slow', { bot: 'b', conversation: undefined })
    const json = JSON.parse(lines[0]!)
    assert.ok(Math.abs(Date.parse(json.time) - Date.now()) < 60_000, json.time)
    assert.deepEqual(Object.keys(json), ['time', 'level', 'msg', 'bot', 'status'])
    assert.match(lines[1]!, /^\d\d:\d\d:\d\d\.\d\d\d WARN slow bot=b$/)
  })

  it("a child's fields and a line's go after the parent's, in order, and override them; one set to undefined removes the parent's", () => {
    const lines: string[] = []
    const logger = createLogger({ sink: { json: true, write: (l) => lines.push(l) }, fields: { bot: 'b', handler: 'h' } })
    logger.child({ conversation: 'c', bot: 'b2' }).info('x', { handler: undefined, status: 's' })
    const { time, level, msg, ...fields } = JSON.parse(lines[0]!)
    assert.deepEqual([time !== undefined, level, msg], [true, 'info', 'x'])
    assert.deepEqual(Object.entries(fields), [['bot', 'b2'], ['conversation', 'c'], ['status', 's']])
    // As a spread would, but never setting a prototype.
    const merged = mergeFields({ a: 1 }, JSON.parse('{"__proto__": {"polluted": true}, "b": 2}'))
    assert.deepEqual(Object.entries(merged), [['a', 1], ['b', 2]])
    assert.equal(Object.getPrototypeOf(merged), Object.prototype)
  })

  it("at info, each message's log line has its text and its replies' texts, cut at a readable length", async () => {
    const t = await testBot('bots/echo')
    const long = 'x'.repeat(300)
    await t.send('hello there')
    await t.send(long)
    const handled = t.logs.filter((l) => l.msg === 'message handled')
    assert.deepEqual(handled.map((l) => [l.text, l.replies]), [
      ['hello there', ['#1 hello there']],
      [`${'x'.repeat(119)}…`, [`#2 ${'x'.repeat(116)}…`]],
    ])
    await t.close()
  })
})

describe('log lines in the timeline', () => {
  it("a handler's line keeps its text, its level and its ids, the message's id as messageId", () => {
    const timeline = new Timeline({ bus: createBus(), store: { observe: () => () => undefined } as unknown as Store, clock: new VirtualClock(0) })
    const logger = timeline.tap(createLogger({ sink: { json: true, write: () => undefined } }))
    logger.child({ bot: 'b', conversation: 'c1', message: 'msg_1', handler: 'on.message("text")' }).info('got hello')
    const entry = timeline.entries('b').at(-1)!
    assert.equal(entry.summary, 'got hello')
    assert.equal(entry.conversationId, 'c1')
    assert.deepEqual(entry.data, { level: 'info', message: 'got hello', bot: 'b', conversation: 'c1', handler: 'on.message("text")', messageId: 'msg_1' })
  })
})
