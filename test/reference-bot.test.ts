import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { testBot } from '../runtime/testing.ts'

const dir = 'test/fixtures/reference-bots/reference'

/** Starts the reference bot; what it prints with console.log reaches its log, with the handler's ids. */
async function start(_t: TestContext) {
  const bot = await testBot(dir)
  const printed = {
    includes: (text: string) => bot.logs.some((line) => line.msg === text),
    some: (test: (line: string) => boolean) => bot.logs.some((line) => test(String(line.msg))),
    filter: (test: (line: string) => boolean) => bot.logs.map((line) => String(line.msg)).filter(test),
  }
  return { bot, printed }
}

describe('the reference page as a bot', () => {
  it('a first message tags the conversation and the user, and keeps preferences in Spanish', async (t) => {
    const { bot, printed } = await start(t)
    const { conversationId, message } = await bot.send('hello', { userId: 'ana', conversationId: 'c1' })
    const failures = bot.logs.filter((l) => l.msg === 'handler failed')
    assert.deepEqual(failures, [])
    const { conversation } = await bot.client.getConversation({ id: conversationId })
    assert.equal(conversation.tags.topic, 'support')
    assert.equal(conversation.tags.priority, 'high')
    assert.ok(!Number.isNaN(Date.parse(conversation.tags.lastActivity!)))
    const { user } = await bot.client.getUser({ id: 'ana' })
    assert.equal(user.tags.language, 'en')
    assert.equal(user.tags.timezone, 'America/New_York')
    assert.deepEqual(await bot.state('user', 'ana', 'preferences'), { language: 'es', timezone: 'UTC', notifications: true })
    assert.ok(printed.includes(`Message ID: ${message.id}`))
    assert.ok(printed.includes('State not found'))
    await bot.close()
  })

  it('/states writes the four scopes, and the next message prints the context', async (t) => {
    const { bot, printed } = await start(t)
    await bot.send('/states', { userId: 'ana', conversationId: 'c1' })
    assert.deepEqual(await bot.state('conversation', 'c1', 'context'), { topic: 'billing', priority: 'high' })
    assert.deepEqual(await bot.state('user', 'ana', 'profile'), { name: 'John', email: 'john@example.com' })
    const config = await bot.state('bot', 'reference', 'config')
    assert.equal(config?.version, '1.0.0')
    assert.equal(typeof config?.lastRestart, 'string', 'a Date is stored as its ISO string')
    assert.deepEqual(await bot.state('workflow', 'onboarding-ana', 'progress'), { step: 3, totalSteps: 5 })
    await bot.send('again', { userId: 'ana', conversationId: 'c1' })
    assert.ok(printed.includes("Conversation context: { topic: 'billing', priority: 'high' }"))
    assert.ok(printed.some((line) => line.startsWith('State profile:')))
    await bot.close()
  })

  it('/reset deletes the preferences', async (t) => {
    const { bot, printed } = await start(t)
    await bot.send('hello', { userId: 'ana' })
    await bot.send('/reset', { userId: 'ana' })
    assert.equal(await bot.state('user', 'ana', 'preferences'), undefined)
    assert.ok(printed.includes('Preferences reset'))
    await bot.close()
  })

  it('/delete deletes the conversation and /deleteAccount the user', async (t) => {
    const { bot, printed } = await start(t)
    await bot.send('hello', { userId: 'ana', conversationId: 'c1' })
    await bot.send('/delete', { userId: 'ana', conversationId: 'c1' })
    await assert.rejects(bot.client.getConversation({ id: 'c1' }), { type: 'ResourceNotFound', code: 404 })
    assert.ok(printed.includes('Conversation deleted'))
    await bot.send('/deleteAccount', { userId: 'bob', conversationId: 'c2' })
    await assert.rejects(bot.client.getUser({ id: 'bob' }), { type: 'ResourceNotFound' })
    assert.ok(printed.includes('User deleted'))
    await bot.close()
  })

  it('the report events list conversations and users, paging through every conversation', async (t) => {
    const { bot, printed } = await start(t)
    for (let i = 0; i < 3; i++) await bot.send('hi', { userId: `u${i}`, conversationId: `c${i}` })
    for (let i = 0; i < 120; i++) await bot.client.createConversation({ tags: { n: String(i) } })
    await bot.event('dailyReport')
    assert.ok(printed.includes('Total conversations: 100'))
    // Newest first: the page holds the 100 conversations made last, which have no topic.
    assert.equal(printed.filter((line) => /^- conv_\w+: undefined$/.test(line)).length, 100)
    await bot.event('allConversations')
    assert.ok(printed.includes('Found 123 conversations'))
    await bot.event('userReport')
    assert.ok(printed.includes('Total users: 3'))
    assert.ok(printed.includes('- u1: Unknown'))
    await bot.close()
  })

  it('the declared session state takes its one-hour expiry from the definition', async (t) => {
    const { bot } = await start(t)
    await bot.send('/session', { conversationId: 'c1' })
    const { state } = await bot.client.getState({ type: 'conversation', id: 'c1', name: 'sessionData' })
    assert.equal(Date.parse(state.expiresAt!) - Date.parse(state.updatedAt), 3600 * 1000)
    bot.clock.advance(3600 * 1000)
    assert.equal(await bot.state('conversation', 'c1', 'sessionData'), undefined)
    await bot.close()
  })
})
