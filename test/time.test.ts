import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createClientContext, takeExpiredState } from '../runtime/client/index.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime } from '../runtime/runtime.ts'
import { key, timeSegment } from '../runtime/store/keys.ts'
import { Store } from '../runtime/store/store.ts'
import { testBot } from '../runtime/testing.ts'
import { systemClock, VirtualClock } from '../runtime/time/clock.ts'
import { TimeKeeper } from '../runtime/time/keeper.ts'
import { TimerWheel } from '../runtime/time/wheel.ts'
import { parseDuration } from '../runtime/time/duration.ts'

const timer = 'test/fixtures/time-bots/timer'
const texts = (messages: { payload: Record<string, unknown> }[]) => messages.map((m) => m.payload.text)

async function expiries(t: Awaited<ReturnType<typeof testBot>>) {
  return ((await t.state('bot', 'timer', 'expiries')) as { count: number } | undefined)?.count ?? 0
}

describe('state expiry', () => {
  it('a session set with a 60-second expiry is there at 59 s and gone at 60 s, and its handler ran once', async () => {
    const t = await testBot(timer)
    await t.send('start')
    await t.advance(59)
    assert.deepEqual(await t.state('conversation', 'conv-1', 'session'), { n: 1 })
    assert.equal(await expiries(t), 0)
    await t.advance(1)
    assert.equal(await t.state('conversation', 'conv-1', 'session'), undefined)
    assert.equal(await expiries(t), 1)
    assert.deepEqual(texts(await t.transcript()), ['start', 'ok start', 'session ended'])
    await t.advance('1d')
    assert.equal(await expiries(t), 1, 'once only')
    await t.close()
  })

  it('renewing a session postpones its expiry', async () => {
    const t = await testBot(timer)
    await t.send('start')
    await t.advance(50)
    await t.send('renew')
    await t.advance(50)
    assert.deepEqual(await t.state('conversation', 'conv-1', 'session'), { n: 1 })
    assert.equal(await expiries(t), 0)
    await t.advance(10)
    assert.equal(await expiries(t), 1)
    await t.close()
  })

  it('deleting a session cancels its expiry', async () => {
    const t = await testBot(timer)
    await t.send('start')
    await t.send('stop')
    await t.advance('2h')
    assert.equal(await expiries(t), 0)
    assert.deepEqual(texts(await t.transcript()), ['start', 'ok start', 'stop', 'ok stop'])
    await t.close()
  })

  it('a handler that throws during expiry does not bring the state back', async () => {
    const t = await testBot(timer)
    await t.send('doomed')
    await t.advance(60)
    assert.equal(await t.state('conversation', 'conv-1', 'session'), undefined)
    assert.equal(await expiries(t), 1)
    assert.ok(t.logs.some((l) => l.msg === 'handler failed' && l.error === 'expiry handler exploded'))
    await t.advance('1h')
    assert.equal(await expiries(t), 1)
    await t.close()
  })

  it('expiries fire in time order, each while the clock stands at its time', async () => {
    const t = await testBot(timer)
    const seen: string[] = []
    t.runtime.bus.on('stateExpired', ({ state }) => seen.push(`${state.id}@${new Date(t.clock.now()).toISOString()}`))
    const start = t.clock.now()
    await t.send('start', { conversationId: 'a' })
    await t.advance(30)
    await t.send('start', { conversationId: 'b' })
    await t.advance('5m')
    assert.deepEqual(seen, [`a@${new Date(start + 60_000).toISOString()}`, `b@${new Date(start + 90_000).toISOString()}`])
    await t.close()
  })
})

describe('expiry across restarts', () => {
  const logger = createLogger({ level: 'silent' })

  async function withData<T>(work: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'localbot-time-'))
    try {
      return await work(dir)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  const folders = [{ id: 'timer', dir: resolve(timer) }]
  const start = async (dir: string, clock: VirtualClock) => startRuntime({ botsDir: 'test/fixtures/time-bots', folders, store: await Store.open(dir), clock, logger })
  const count = async (runtime: Awaited<ReturnType<typeof start>>) =>
    (await runtime.dispatcher.clientOf('timer').getState({ type: 'bot', id: 'timer', name: 'expiries' }).catch(() => undefined))?.state.payload.count ?? 0

  it('a state that expired while the runtime was stopped fires once, at start', async () => {
    await withData(async (dir) => {
      const clock = new VirtualClock()
      const first = await start(dir, clock)
      await first.dispatcher.sendMessage('timer', { userId: 'u', conversationId: 'c', payload: { text: 'start' } })
      await first.close()
      clock.advance(3600_000)
      const second = await start(dir, clock)
      await second.ready
      assert.equal(await count(second), 1)
      await second.dispatcher.idle()
      await second.close()
      const third = await start(dir, clock)
      await third.ready
      assert.equal(await count(third), 1, 'not again')
      await third.close()
    })
  })

  it('a crash between the deletion and the handler replays the handler at the next start (at least once)', async () => {
    await withData(async (dir) => {
      const clock = new VirtualClock()
      const first = await start(dir, clock)
      await first.dispatcher.sendMessage('timer', { userId: 'u', conversationId: 'c', payload: { text: 'start' } })
      const { state } = await first.dispatcher.clientOf('timer').getState({ type: 'conversation', id: 'c', name: 'session' })
      // What the expiry does before running handlers, then a crash: the handlers never ran.
      const ctx = createClientContext({ store: first.store, botId: 'timer', clock, states: {} })
      clock.advance(60_000)
      assert.ok(await takeExpiredState(ctx, { type: 'conversation', id: 'c', name: 'session' }, Date.parse(state.expiresAt!)))
      await first.close()
      const second = await start(dir, clock)
      await second.ready
      assert.equal(await count(second), 1)
      const { messages } = await second.dispatcher.clientOf('timer').listMessages({ conversationId: 'c' })
      assert.equal(messages[0]!.payload.text, 'session ended')
      await second.close()
      const third = await start(dir, clock)
      await third.ready
      assert.equal(await count(third), 1)
      await third.close()
    })
  })

  it('a delayed event survives a restart and fires at its time', async () => {
    await withData(async (dir) => {
      const clock = new VirtualClock()
      const first = await start(dir, clock)
      await first.dispatcher.sendMessage('timer', { userId: 'u', conversationId: 'c', payload: { text: 'later' } })
      const { events } = await first.dispatcher.clientOf('timer').listEvents({ type: 'reminder' })
      assert.equal(events[0]!.status, 'scheduled')
      await first.close()
      const second = await start(dir, clock)
      await second.advanceClock!(4)
      assert.equal((await second.dispatcher.clientOf('timer').getEvent({ id: events[0]!.id })).event.status, 'scheduled')
      await second.advanceClock!(1)
      await second.dispatcher.idle()
      assert.equal((await second.dispatcher.clientOf('timer').getEvent({ id: events[0]!.id })).event.status, 'processed')
      const { messages } = await second.dispatcher.clientOf('timer').listMessages({ conversationId: 'c' })
      assert.equal(messages[0]!.payload.text, 'reminder')
      await second.close()
    })
  })
})

describe('schedules', () => {
  it("a definition's cron recurrence fires its event every ten minutes of virtual time", async () => {
    const t = await testBot(timer)
    await t.advance('1h')
    assert.deepEqual(await t.state('bot', 'timer', 'ticks'), { count: 6 })
    const { events } = await t.client.listEvents({ type: 'tick', limit: 100 })
    assert.equal(events.length, 6)
    assert.ok(events.every((e) => e.status === 'processed' && e.payload.source === 'cron'))
    await t.close()
  })

  it('setting schedules again (a reload) replaces them rather than doubling them', async () => {
    const t = await testBot(timer)
    const recurring = t.runtime.dispatcher.botOf('timer')!.recurringEvents
    t.runtime.keeper.setSchedules('timer', recurring)
    t.runtime.keeper.setSchedules('timer', recurring)
    await t.advance('30m')
    assert.deepEqual(await t.state('bot', 'timer', 'ticks'), { count: 3 })
    await t.close()
  })

  it('createEvent with schedule.delay fires later and listEvents shows its status', async () => {
    const t = await testBot(timer)
    await t.send('later')
    await t.advance(4)
    assert.deepEqual(texts(await t.transcript()), ['later', 'ok later'])
    await t.advance(1)
    assert.deepEqual(texts(await t.transcript()), ['later', 'ok later', 'reminder'])
    const { events } = await t.client.listEvents({ type: 'reminder' })
    assert.equal(events[0]!.status, 'processed')
    await t.close()
  })

  it('createEvent with schedule.dateTime fires at that time', async () => {
    const t = await testBot(timer)
    await t.send('hello')
    const at = new Date(t.clock.now() + 3 * 3600_000).toISOString()
    await t.client.createEvent({ type: 'reminder', payload: {}, conversationId: 'conv-1', schedule: { dateTime: at } })
    await t.advance('2h')
    assert.equal(texts(await t.transcript()).includes('reminder'), false)
    await t.advance('1h')
    assert.equal(texts(await t.transcript()).at(-1), 'reminder')
    await t.close()
  })
})

describe('the timer wheel', () => {
  it('takes due entries in time order, cancels in place, and refuses entries beyond its reach', () => {
    const wheel = new TimerWheel(0, 1000, 8)
    wheel.add('c', 2500)
    wheel.add('a', 100)
    wheel.add('b', 2400)
    wheel.add('gone', 1500)
    assert.equal(wheel.cancel('gone'), true)
    assert.deepEqual(wheel.takeDue(2450), [{ key: 'a', at: 100 }, { key: 'b', at: 2400 }])
    assert.equal(wheel.nextAt(), 2500)
    assert.throws(() => wheel.add('far', 2000 + 8 * 1000), RangeError)
    assert.deepEqual(wheel.takeDue(100_000), [{ key: 'c', at: 2500 }])
    assert.equal(wheel.count, 0)
  })

  it('200,000 pending expiries keep at most the capacity in memory, and the heap grows by under 8 MB', async () => {
    // classic-level keeps the index off the JS heap, so the heap shows the keeper alone. Held whole,
    // 200,000 entries would cost some 30 MB (150 bytes each); the bound says they are not.
    const dir = await mkdtemp(join(tmpdir(), 'localbot-wheel-'))
    const store = await Store.open(dir)
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const clock = new VirtualClock()
    const fired: string[] = []
    const keeper = new TimeKeeper({
      store,
      clock,
      logger: createLogger({ level: 'silent' }),
      capacity: 5000,
      work: { has: () => true, expire: async (_b, due) => void fired.push(...due.map((d) => d.id)), releaseEvent: async () => undefined, fireCron: async () => undefined, timeOutWorkflow: async () => undefined },
    })
    await keeper.start()
    gc()
    const before = process.memoryUsage().heapUsed
    const now = clock.now()
    for (let chunk = 0; chunk < 200; chunk++) {
      const ops = []
      for (let i = 0; i < 1000; i++) {
        const n = chunk * 1000 + i
        ops.push({ type: 'put' as const, key: key('x', timeSegment(now + 1000 + (n % 3000) * 1000), 'bot', 'conversation', `c${n}`, 's'), value: '' })
      }
      await store.batch(ops)
    }
    assert.ok(keeper.inMemory <= 5000, `${keeper.inMemory} in memory`)
    gc()
    const growth = process.memoryUsage().heapUsed - before
    assert.ok(growth < 8 * 1024 * 1024, `heap grew ${growth} bytes`)
    await keeper.advance(clock, 3001_000)
    assert.equal(fired.length, 200_000, 'and every one fires')
    await keeper.stop()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })
})

describe('the real clock', () => {
  it('a one-second expiry fires on its own', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'localbot-real-'))
    const runtime = await startRuntime({
      botsDir: 'test/fixtures/time-bots',
      folders: [{ id: 'timer', dir: resolve(timer) }],
      store: await Store.open(dir),
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
    })
    const expired = new Promise<string>((done) => runtime.bus.on('stateExpired', ({ state }) => done(state.name)))
    await runtime.dispatcher.sendMessage('timer', { userId: 'u', conversationId: 'c', payload: { text: 'brief' } })
    assert.equal(await expired, 'flash')
    await runtime.dispatcher.idle()
    const { messages } = await runtime.dispatcher.clientOf('timer').listMessages({ conversationId: 'c' })
    assert.equal(messages[0]!.payload.text, 'flash gone')
    await runtime.close()
    await rm(dir, { recursive: true, force: true })
  })
})

describe('durations', () => {
  it('reads the REPL forms', () => {
    assert.equal(parseDuration('+90m'), 5400)
    assert.equal(parseDuration('+2h'), 7200)
    assert.equal(parseDuration('+1d'), 86400)
    assert.equal(parseDuration('45'), 45)
    assert.equal(parseDuration('soon'), undefined)
  })
})
