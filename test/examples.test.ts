import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { testBot } from '../runtime/testing.ts'

describe('the echo bot', () => {
  it('numbers its echoes per conversation', async () => {
    const bot = await testBot('bots/echo')
    assert.equal((await bot.send('hello')).replies[0]!.payload.text, '#1 hello')
    assert.equal((await bot.send('again')).replies[0]!.payload.text, '#2 again')
    assert.equal((await bot.send('elsewhere', { conversationId: 'other' })).replies[0]!.payload.text, '#1 elsewhere')
    assert.deepEqual(await bot.state('conversation', 'conv-1', 'counter'), { count: 2 })
    await bot.close()
  })
})

describe('the support bot', () => {
  it('the session ends an hour after the last message, and the bot says so', async () => {
    const bot = await testBot('bots/support')
    await bot.send('hello', { userId: 'ana', conversationId: 'c1' })
    await bot.advance('59m')
    assert.ok(await bot.state('conversation', 'c1', 'sessionData'))
    await bot.advance('1m')
    assert.equal(await bot.state('conversation', 'c1', 'sessionData'), undefined)
    const last = (await bot.transcript('c1')).at(-1)!
    assert.match(String(last.payload.text), /session has ended after 1 messages/)
    await bot.close()
  })

  it('a message in the session renews it', async () => {
    const bot = await testBot('bots/support')
    await bot.send('hello', { conversationId: 'c1' })
    await bot.advance('50m')
    await bot.send('still there?', { conversationId: 'c1' })
    await bot.advance('50m')
    assert.deepEqual((await bot.state('conversation', 'c1', 'sessionData'))?.data, { messages: 2 })
    await bot.close()
  })

  it('keeps preferences: defaults, /lang, /prefs and /reset', async () => {
    const bot = await testBot('bots/support')
    await bot.send('hello', { userId: 'ana' })
    assert.deepEqual(await bot.state('user', 'ana', 'preferences'), { language: 'en', timezone: 'UTC', notifications: true })
    assert.equal((await bot.send('/lang es', { userId: 'ana' })).replies[0]!.payload.text, 'Language set to es')
    assert.match(String((await bot.send('/prefs', { userId: 'ana' })).replies[0]!.payload.text), /"language":"es"/)
    assert.equal((await bot.send('/reset', { userId: 'ana' })).replies[0]!.payload.text, 'Preferences reset')
    // /reset deleted them; the next message sets the defaults again.
    assert.match(String((await bot.send('/prefs', { userId: 'ana' })).replies[0]!.payload.text), /"language":"en"/)
    await bot.close()
  })

  it('tags the conversation and keeps a context and a priority', async () => {
    const bot = await testBot('bots/support')
    await bot.send('/priority urgent', { conversationId: 'c1' })
    const { conversation } = await bot.client.getConversation({ id: 'c1' })
    assert.equal(conversation.tags.topic, 'support')
    assert.equal(conversation.tags.priority, 'urgent')
    assert.equal((await bot.send('/context', { conversationId: 'c1' })).replies[0]!.payload.text, 'Context: {"topic":"billing","priority":"urgent"}')
    assert.equal((await bot.send('/context', { conversationId: 'c2' })).replies[0]!.payload.text, 'No context yet')
    await bot.close()
  })

  it('walks an onboarding workflow state', async () => {
    const bot = await testBot('bots/support')
    assert.equal((await bot.send('/onboard', { userId: 'ana' })).replies[0]!.payload.text, 'Onboarding step 1 of 5')
    assert.equal((await bot.send('/onboard', { userId: 'ana' })).replies[0]!.payload.text, 'Onboarding step 2 of 5')
    assert.deepEqual(await bot.state('workflow', 'onboarding-ana', 'progress'), { step: 2, totalSteps: 5 })
    await bot.close()
  })

  it('/delete deletes the conversation, /deleteAccount the user', async () => {
    const bot = await testBot('bots/support')
    await bot.send('/delete', { userId: 'ana', conversationId: 'c1' })
    await assert.rejects(bot.client.getConversation({ id: 'c1' }), { type: 'ResourceNotFound' })
    await bot.send('/deleteAccount', { userId: 'bob', conversationId: 'c2' })
    await assert.rejects(bot.client.getUser({ id: 'bob' }), { type: 'ResourceNotFound' })
    await assert.rejects(bot.client.getState({ type: 'user', id: 'bob', name: 'preferences' }), { type: 'ResourceNotFound' })
    await bot.close()
  })

  it('the daily report runs at 9:00 every day and counts the conversations', async () => {
    const bot = await testBot('bots/support')
    for (let i = 0; i < 3; i++) await bot.send('hi', { conversationId: `c${i}` })
    await bot.advance('1d')
    const report = (await bot.state('bot', 'support', 'report')) as { conversations: number } | undefined
    assert.equal(report?.conversations, 3)
    const { events } = await bot.client.listEvents({ type: 'dailyReport' })
    assert.equal(events.length, 1)
    assert.equal(events[0]!.status, 'processed')
    await bot.close()
  })
})

describe('bot code and the clock', () => {
  it("a bot's new Date() reads the runtime's clock, so virtual time shows in its data", async () => {
    const bot = await testBot('bots/support')
    await bot.advance('3h')
    await bot.send('hello', { conversationId: 'c1' })
    const { conversation } = await bot.client.getConversation({ id: 'c1' })
    assert.equal(conversation.tags.lastActivity, new Date(bot.clock.now()).toISOString())
    assert.equal(conversation.tags.lastActivity, '2026-01-01T03:00:00.000Z')
    await bot.close()
  })
})
