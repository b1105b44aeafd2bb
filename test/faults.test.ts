import assert from 'node:assert/strict'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { createClientContext, ingestMessage, takeExpiredState } from '../runtime/client/index.ts'
import { expiryRecord, eventRecord } from '../runtime/dispatch/dispatcher.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { testBot } from '../runtime/testing.ts'
import { VirtualClock } from '../runtime/time/clock.ts'
import { TimeKeeper, type DueWork } from '../runtime/time/keeper.ts'
import * as layout from '../runtime/store/layout.ts'

const faultBots = resolve('test/fixtures/fault-bots')
const folders = ['slow', 'quick'].map((id) => ({ id, dir: join(faultBots, id) }))

/** The fault bots over one store, with a short handler limit; log lines are kept. */
async function start(store: Store, clock: VirtualClock, options: { spun?: Set<string>; timeoutMs?: number } = {}) {
  const logs: Record<string, unknown>[] = []
  const logger = createLogger({ level: 'debug', sink: { json: true, write: (line) => logs.push(JSON.parse(line)) } })
  const runtime = await startRuntime({ botsDir: faultBots, folders, store, clock, logger, handlerTimeoutMs: options.timeoutMs ?? 30, spun: options.spun })
  await runtime.ready
  return { runtime, logs, slow: runtime.dispatcher.clientOf('slow'), quick: runtime.dispatcher.clientOf('quick') }
}

const memoryStore = () => Store.over(new MemoryLevel<string, string>() as unknown as Db)
const texts = (messages: { payload: Record<string, unknown> }[]) => messages.map((m) => m.payload.text)

describe('a handler past its time limit', () => {
  it('is logged with its ids and abandoned; its conversation moves on; its message is handled again at the next start', async () => {
    const store = await memoryStore()
    const clock = new VirtualClock()
    const first = await start(store, clock)
    const hung = await first.runtime.dispatcher.sendMessage('slow', { userId: 'u', conversationId: 'c', payload: { text: 'hang' } })
    assert.deepEqual(hung.replies, [])
    const line = first.logs.find((l) => l.msg?.toString().startsWith('handler timed out'))
    assert.ok(line, 'the timeout is logged')
    assert.equal(line.bot, 'slow')
    assert.equal(line.conversation, 'c')
    assert.equal(line.message, hung.message.id)
    // The same conversation is served next.
    const next = await first.runtime.dispatcher.sendMessage('slow', { userId: 'u', conversationId: 'c', payload: { text: 'after' } })
    assert.deepEqual(texts(next.replies), ['ok after'])
    const { events } = await first.slow.listEvents({ messageId: hung.message.id })
    assert.deepEqual(events.map((e) => [e.type, e.status]), [['message_created', 'pending']])
    await first.runtime.close()

    // The next start runs it again (it hangs again: at least once, never lost).
    const store2 = await Store.over(store.db)
    const second = await start(store2, clock)
    const { state } = await second.slow.getState({ type: 'bot', id: 'slow', name: 'handled' })
    assert.deepEqual(state.payload, { hang: 2, after: 1 })
    await second.runtime.close()
  })

  it('in one bot does not hold up another bot or time: the other bot answers and its expiry fires', async () => {
    const { runtime, slow, quick } = await start(await memoryStore(), new VirtualClock())
    await runtime.dispatcher.sendMessage('slow', { userId: 'u', conversationId: 'c', payload: { text: 'hold-hang' } })
    await runtime.dispatcher.sendMessage('quick', { userId: 'u', conversationId: 'q', payload: { text: 'hi' } })
    await runtime.advanceClock!(11)
    assert.deepEqual(texts((await quick.listMessages({ conversationId: 'q' })).messages).reverse(), ['hi', 'quick hi', 'session over'])
    // The hung expiry stays kept aside for the next start; the finished one is forgotten.
    assert.equal((await store(runtime).keys(layout.states.expiredRange('slow'))).length, 1)
    assert.equal((await store(runtime).keys(layout.states.expiredRange('quick'))).length, 0)
    assert.ok((await slow.listMessages({ conversationId: 'c' })).messages.length > 0)
    await runtime.close()
  })
})

const store = (runtime: { store: Store }) => runtime.store

describe('the time keeper on the real clock', () => {
  it('starts due work and returns: a bot whose expiry never finishes does not delay another bot', async () => {
    const db = await memoryStore()
    const clock = new VirtualClock()
    const started: string[] = []
    const work: DueWork = {
      timeOutWorkflow: async () => undefined,
      expire: (botId) => {
        started.push(botId)
        return botId === 'stuck' ? new Promise(() => undefined) : Promise.resolve()
      },
      releaseEvent: async () => undefined,
      fireCron: async () => undefined,
      has: () => true,
    }
    const logger = createLogger({ level: 'silent' })
    const keeper = new TimeKeeper({ store: db, clock, logger, work })
    await keeper.start()
    const at = clock.now() + 1000
    await db.batch([
      { type: 'put', key: layout.states.expiry(at, 'stuck', 'bot', 'stuck', 's'), value: '' },
      { type: 'put', key: layout.states.expiry(at + 1000, 'fine', 'bot', 'fine', 's'), value: '' },
    ])
    clock.advance(1000)
    await keeper.tick()
    clock.advance(1000)
    // Before the fix, this tick waited forever behind the stuck expiry.
    await keeper.tick()
    assert.deepEqual(started, ['stuck', 'fine'])
  })
})

describe('messages stored but not handled before a crash', () => {
  it('are handled at the next start, once, and their event says so', async () => {
    const store = await memoryStore()
    const clock = new VirtualClock()
    // What a message's turn writes before its handlers run; then the process dies.
    const ctx = createClientContext({ store, botId: 'slow', clock })
    const { event } = await ingestMessage(ctx, { userId: 'u', conversationId: 'c', type: 'text', payload: { text: 'lost?' } })
    await store.flush()
    const second = await start(await Store.over(store.db), clock)
    assert.deepEqual(texts((await second.slow.listMessages({ conversationId: 'c' })).messages).sort(), ['lost?', 'ok lost?'])
    assert.equal((await second.slow.getEvent({ id: event.id })).event.status, 'processed')
    await second.runtime.close()
    const third = await start(await Store.over(store.db), clock)
    assert.equal((await third.slow.listMessages({ conversationId: 'c' })).messages.length, 2, 'not again')
    await third.runtime.close()
  })

  it('whose handlers spun at the last run are marked failed, not run again', async () => {
    const store = await memoryStore()
    const clock = new VirtualClock()
    const ctx = createClientContext({ store, botId: 'slow', clock })
    const { event } = await ingestMessage(ctx, { userId: 'u', conversationId: 'c', type: 'text', payload: { text: 'spun' } })
    await store.flush()
    const second = await start(await Store.over(store.db), clock, { spun: new Set([eventRecord(event.id)]) })
    const done = (await second.slow.getEvent({ id: event.id })).event
    assert.equal(done.status, 'failed')
    assert.match(done.failureReason!, /blocked the event loop/)
    assert.equal((await second.slow.listMessages({ conversationId: 'c' })).messages.length, 1, 'no reply: not run')
    await second.runtime.close()
  })
})

describe('replay at start', () => {
  it('records each finished expiry as it goes: a hung one stays, the others are forgotten', async () => {
    const store = await memoryStore()
    const clock = new VirtualClock()
    const first = await start(store, clock)
    for (const [c, text] of [['a', 'hold'], ['b', 'hold-hang'], ['d', 'hold']])
      await first.runtime.dispatcher.sendMessage('slow', { userId: 'u', conversationId: c!, payload: { text } })
    await first.runtime.close()
    // Taken by the keeper, then the process died before any handler ran.
    const reopened = await Store.over(store.db)
    const ctx = createClientContext({ store: reopened, botId: 'slow', clock })
    clock.advance(10_000)
    for (const id of ['a', 'b', 'd']) {
      const { expiresAt } = JSON.parse((await reopened.get(layout.states.record('slow', 'conversation', id, 'hold')))!)
      assert.ok(await takeExpiredState(ctx, { type: 'conversation', id, name: 'hold' }, Date.parse(expiresAt)))
    }
    await reopened.flush()
    const second = await start(reopened, clock)
    const left = await second.runtime.store.keys(layout.states.expiredRange('slow'))
    assert.equal(left.length, 1)
    assert.ok(left[0]!.includes('\u0000b\u0000'), 'the hung one (conversation b) stays for the next start')
    for (const c of ['a', 'd']) assert.equal(texts((await second.slow.listMessages({ conversationId: c })).messages)[0], 'hold expired')
    await second.runtime.close()
    assert.equal(expiryRecord({ type: 'conversation', id: 'b', name: 'hold' }), 'expired:conversation:b:hold')
  })
})

describe('a state that expired but was not yet taken by the keeper', () => {
  it('overwritten by setState still gets its stateExpired handlers', async () => {
    const t = await testBot('test/fixtures/fault-bots/quick')
    await t.send('hi', { conversationId: 'q' })
    // The clock moves past the expiry without the keeper looking (it has not ticked yet).
    t.clock.advance(5000)
    await t.client.setState({ type: 'conversation', id: 'q', name: 'session', payload: {} })
    await t.runtime.dispatcher.idle()
    assert.deepEqual(texts(await t.transcript('q')), ['hi', 'quick hi', 'session over'])
    await t.close()
  })

  it('overwritten by getOrSetState, or deleted, gets them too', async () => {
    const t = await testBot('test/fixtures/fault-bots/quick')
    await t.send('one', { conversationId: 'q1' })
    await t.send('two', { conversationId: 'q2' })
    t.clock.advance(5000)
    await t.client.getOrSetState({ type: 'conversation', id: 'q1', name: 'session', payload: {} })
    await t.client.deleteState({ type: 'conversation', id: 'q2', name: 'session' })
    await t.runtime.dispatcher.idle()
    assert.equal(texts(await t.transcript('q1')).at(-1), 'session over')
    assert.equal(texts(await t.transcript('q2')).at(-1), 'session over')
    await t.close()
  })
})

describe('the harness client', () => {
  it('runs an event it creates, as a handler client does', async () => {
    const t = await testBot('test/fixtures/order-bots/order')
    await t.send('hi', { conversationId: 'c1' })
    const { event } = await t.client.createEvent({ type: 'ping', conversationId: 'c1', payload: {} })
    await t.runtime.dispatcher.idle()
    assert.equal((await t.client.getEvent({ id: event.id })).event.status, 'processed')
    assert.equal(texts(await t.transcript('c1')).at(-1), 'pong')
    await t.close()
  })
})

describe('a bot that failed at start and is fixed by a reload', () => {
  it('fires the expiries and events that fell due while it was broken', async () => {
    const botsDir = await mkdtemp(join(tmpdir(), 'localbot-fixed-'))
    try {
      await cp(join(faultBots, 'quick'), join(botsDir, 'quick'), { recursive: true })
      const store = await memoryStore()
      const clock = new VirtualClock()
      const logger = createLogger({ level: 'silent' })
      const first = await startRuntime({ botsDir, store, clock, logger })
      await first.ready
      await first.dispatcher.sendMessage('quick', { userId: 'u', conversationId: 'q', payload: { text: 'hi' } })
      const { event } = await first.dispatcher.clientOf('quick').createEvent({ type: 'later', payload: {}, schedule: { delay: 500 } })
      await first.close()
      // Broken on disk, then started: the bot does not load, and its due work waits.
      const entry = join(botsDir, 'quick', 'index.ts')
      const good = await import('node:fs/promises').then((fs) => fs.readFile(entry, 'utf8'))
      await writeFile(entry, 'this is not typescript (')
      const second = await startRuntime({ botsDir, store: await Store.over(store.db), clock, logger })
      await second.ready
      assert.equal(second.failures.length, 1)
      await second.advanceClock!(5)
      // Fixed and reloaded: what fell due runs now.
      await writeFile(entry, good)
      assert.equal(await second.reload('quick'), undefined)
      await second.advanceClock!(0)
      await second.dispatcher.idle()
      const client = second.dispatcher.clientOf('quick')
      assert.equal(texts((await client.listMessages({ conversationId: 'q' })).messages)[0], 'session over')
      assert.equal((await client.getEvent({ id: event.id })).event.status, 'ignored')
      await second.close()
    } finally {
      await rm(botsDir, { recursive: true, force: true })
    }
  })
})

describe('stopping the time keeper', () => {
  it('resolves with more due work queued than a bot runs at once: the queued work waits for the next start', async () => {
    const db = await memoryStore()
    const clock = new VirtualClock()
    const release: (() => void)[] = []
    const started: string[] = []
    const work: DueWork = {
      expire: async () => undefined,
      timeOutWorkflow: async () => undefined,
      releaseEvent: (_botId, eventId) => {
        started.push(eventId)
        return new Promise<void>((resolve) => release.push(resolve))
      },
      fireCron: async () => undefined,
      has: () => true,
    }
    const keeper = new TimeKeeper({ store: db, clock, logger: createLogger({ level: 'silent' }), work })
    await keeper.start()
    const at = clock.now() + 1000
    await db.batch(Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: layout.events.due(at, 'busy', `evt_${i}`), value: '' })))
    clock.advance(1000)
    await keeper.tick()
    assert.equal(started.length, 16, 'sixteen run, four wait')
    const stopped = keeper.stop()
    for (const finish of release) finish()
    await stopped
    assert.equal(started.length, 16, 'the four waiting were not started')
  })
})
