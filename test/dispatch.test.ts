import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { MemoryLevel } from 'memory-level'
import { createLogger } from '../runtime/log.ts'
import { startRuntime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { testBot } from '../runtime/testing.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

setFlagsFromString('--expose-gc')
/** A full garbage collection, without starting node with --expose-gc. */
const collectGarbage = runInNewContext('gc') as () => void

describe('dispatch', () => {
  it('100 concurrent messages across 10 conversations are handled in arrival order per conversation', async () => {
    const t = await testBot('test/fixtures/order-bots/order')
    const sends = []
    for (let i = 0; i < 100; i++) sends.push(t.send(`m${i}`, { conversationId: `c${i % 10}`, userId: `u${i % 7}` }))
    const results = await Promise.all(sends)
    for (let c = 0; c < 10; c++) {
      const expected = Array.from({ length: 10 }, (_, k) => `m${c + 10 * k}`)
      assert.deepEqual(await t.state('conversation', `c${c}`, 'seen'), { texts: expected })
    }
    results.forEach((result, i) => assert.deepEqual(result.replies.map((r) => r.payload.text), [`got m${i}`]))
    // Stored messages keep the order too: newest first, the bot's reply after each user message.
    const { messages } = await t.client.listMessages({ conversationId: 'c3', limit: 100 })
    assert.deepEqual(
      messages.reverse().map((m) => m.payload.text),
      Array.from({ length: 10 }, (_, k) => [`m${3 + 10 * k}`, `got m${3 + 10 * k}`]).flat(),
    )
    await t.close()
  })

  it('a throwing handler is logged with bot, conversation and message ids; as in Botpress Cloud the handlers after it do not run and the event fails', async () => {
    const t = await testBot('test/fixtures/order-bots/order')
    // Collected garbage must not take the bot's source map with it (Node keeps it only while the module lives).
    // (Between turns of the event loop: a weak reference read in a turn lives to its end.)
    for (let i = 0; i < 3; i++) {
      collectGarbage()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const { message, replies } = await t.send('boom', { conversationId: 'c1' })
    assert.deepEqual(replies, [])
    const { events } = await t.client.listEvents({ messageId: message.id })
    assert.deepEqual(events.map((e) => [e.status, e.failureReason]), [['failed', 'handler exploded']])
    const failure = t.logs.find((line) => line.msg === 'handler failed')
    assert.ok(failure, 'the failure is logged')
    assert.equal(failure.bot, 'order')
    assert.equal(failure.conversation, 'c1')
    assert.equal(failure.message, message.id)
    assert.equal(failure.error, 'handler exploded')
    // The stack points at the bot's own source, line and column (its compiled bundle's source map applied).
    assert.match(String(failure.stack), /test\/fixtures\/order-bots\/order\/index\.ts:7:46\)/)
    // The runtime goes on.
    assert.deepEqual((await t.send('after', { conversationId: 'c1' })).replies.map((r) => r.payload.text), ['got after'])
    await t.close()
  })

  it('a message creates its user, conversation and participation, and stores the message', async () => {
    const t = await testBot('test/fixtures/order-bots/order')
    await t.send('hi', { userId: 'alice', conversationId: 'support-1' })
    assert.equal((await t.client.getUser({ id: 'alice' })).user.id, 'alice')
    assert.equal((await t.client.getConversation({ id: 'support-1' })).conversation.id, 'support-1')
    assert.equal((await t.client.getParticipant({ id: 'support-1', userId: 'alice' })).participant.id, 'alice')
    const { conversations } = await t.client.listConversations({ participantIds: ['alice'] })
    assert.deepEqual(conversations.map((c) => c.id), ['support-1'])
    await t.close()
  })

  it('a handled message leaves no stored value empty (classic-level never frees the byte it allocates for one)', async () => {
    const t = await testBot('test/fixtures/order-bots/order')
    await t.send('hi', { userId: 'alice', conversationId: 'support-1' })
    await t.send('again', { userId: 'alice', conversationId: 'support-1' })
    await t.runtime.store.flush()
    const entries = await t.runtime.store.db.iterator().all()
    assert.ok(entries.length > 20, 'the message, its reply, their event, indexes and the state are stored')
    assert.deepEqual(entries.filter(([, value]) => value === '').map(([key]) => key), [])
    await t.close()
  })

  it('events sent from outside run event handlers and end processed, or ignored when no handler listens', async () => {
    const t = await testBot('test/fixtures/order-bots/order')
    await t.send('hi', { conversationId: 'c1' })
    const ping = await t.runtime.dispatcher.sendEvent('order', { type: 'ping', conversationId: 'c1' })
    assert.equal(ping.event.status, 'processed')
    assert.deepEqual(ping.replies.map((r) => r.payload.text), ['pong'])
    const other = await t.runtime.dispatcher.sendEvent('order', { type: 'nobody-listens' })
    assert.equal(other.event.status, 'ignored')
    assert.equal((await t.client.getEvent({ id: ping.event.id })).event.status, 'processed')
    await t.close()
  })

  it('a message with an id that is not 1..200 printable characters is refused and stores nothing', async () => {
    const t = await testBot('test/fixtures/order-bots/order')
    await assert.rejects(t.send('hi', { userId: 'bad\u0000id' }), { type: 'InvalidPayload', code: 400 })
    await assert.rejects(t.send('hi', { conversationId: 'x'.repeat(201) }), { type: 'InvalidPayload' })
    await t.runtime.store.flush()
    assert.deepEqual(await t.runtime.store.db.keys().all(), [])
    await t.close()
  })

  it('replies are announced on the bus', async () => {
    const t = await testBot('test/fixtures/order-bots/order')
    const heard: string[] = []
    t.runtime.bus.on('reply', ({ botId, message }) => heard.push(`${botId}:${message.payload.text}`))
    await t.send('one')
    assert.deepEqual(heard, ['order:got one'])
    await t.close()
  })
})

describe('loading', () => {
  it('a bot that fails to load is reported with its file and error, and the others run', async () => {
    const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
    const lines: Record<string, unknown>[] = []
    const logger = createLogger({ sink: { json: true, write: (l) => lines.push(JSON.parse(l)) } })
    const runtime = await startRuntime({ botsDir: 'test/fixtures/mixed-bots', store, clock: new VirtualClock(), logger })
    assert.deepEqual(runtime.dispatcher.botIds(), ['good'])
    const failed = lines.filter((l) => l.msg === 'bot failed to load')
    assert.deepEqual(failed.map((l) => l.bot).sort(), ['broken', 'nodefault'])
    const broken = failed.find((l) => l.bot === 'broken')!
    assert.match(String(broken.file), /mixed-bots\/broken\/index\.ts$/)
    assert.match(String(broken.error), /this bot cannot start/)
    // Where it threw, as path:line:column: an editor opens it from the terminal.
    assert.match(String(broken.at), /mixed-bots\/broken\/index\.ts:4:7$/)
    const { replies } = await runtime.dispatcher.sendMessage('good', { userId: 'u', payload: { text: 'hi' } })
    assert.equal(replies[0]!.payload.text, 'fine')
    await runtime.close()
  })

  it('two bots on one store keep their data apart', async () => {
    const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
    const logger = createLogger({ level: 'silent' })
    const runtime = await startRuntime({ botsDir: 'bots', store, clock: new VirtualClock(), logger })
    await runtime.dispatcher.sendMessage('echo', { userId: 'u1', conversationId: 'shared', payload: { text: 'a' } })
    await runtime.dispatcher.sendMessage('support', { userId: 'u1', conversationId: 'shared', payload: { text: 'b' } })
    const echo = runtime.dispatcher.clientOf('echo')
    const support = runtime.dispatcher.clientOf('support')
    assert.deepEqual((await echo.listMessages({ conversationId: 'shared' })).messages.map((m) => m.payload.text), ['#1 a', 'a'])
    assert.equal((await support.listStates({ type: 'conversation', id: 'shared' })).states.some((s) => s.name === 'counter'), false)
    await echo.deleteUser({ id: 'u1' })
    assert.equal((await support.getUser({ id: 'u1' })).user.id, 'u1')
    await runtime.close()
  })
})
