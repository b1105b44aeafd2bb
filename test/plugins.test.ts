import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { testBot } from '../runtime/testing.ts'
import { addPackages } from './support/packages.ts'

// A bot whose plugin package (its definition and bundled code, as bp add downloads it) is in bp_modules.
const greeted = 'test/fixtures/plugin-bots/greeted'
addPackages(greeted, ['greeter'])
const texts = (messages: { payload: Record<string, unknown> }[]) => messages.map((m) => m.payload.text)

describe('plugins run as in Botpress', () => {
  it("the plugin's hook and handlers run with its configuration, beside the bot's, which reads it as bp.<alias>.configuration", async () => {
    const t = await testBot(greeted)
    const { replies } = await t.send('  hi  ')
    assert.deepEqual(texts(replies).sort(), ['[greeter] Howdy #1', 'bot: "hi", configured Howdy'])
    assert.deepEqual(texts((await t.send('again')).replies).sort(), ['[greeter] Howdy #2', 'bot: "again", configured Howdy'])
    await t.close()
  })

  it("the plugin's states are stored under alias#name and checked against its schema", async () => {
    const t = await testBot(greeted)
    await t.send('hi')
    assert.deepEqual(await t.state('conversation', 'conv-1', 'greeter#seen'), { n: 1 })
    await assert.rejects(t.client.setState({ type: 'conversation', id: 'conv-1', name: 'greeter#seen', payload: { n: 'one' } }), { type: 'InvalidPayload' })
    await t.close()
  })

  it("the plugin's actions run in the bot: from a handler, and through the client", async () => {
    const t = await testBot(greeted)
    assert.ok(texts((await t.send('greet Ann')).replies).includes('Howdy, Ann!'))
    const { output } = await t.client.callAction({ type: 'greeter#greet', input: { name: 'Bo' } })
    assert.deepEqual(output, { text: 'Howdy, Bo!' })
    assert.deepEqual(t.calls, [], 'a running plugin is no integration: nothing is mocked')
    await t.close()
  })

  it("a simulated plugin's actions are answered like an integration's, and recorded", async () => {
    const t = await testBot('test/fixtures/project-bots/withplugin')
    t.mockAction('hitl#startHitl', () => ({ started: true }))
    const { output } = await t.client.callAction({ type: 'hitl#startHitl', input: { title: 'help' } })
    assert.deepEqual(output, { started: true })
    assert.deepEqual(t.calls.map((c) => [c.type, c.answeredBy]), [['hitl#startHitl', 'mock']])
    // As Botpress bots call them: bot.actionHandlers['hitl#startHitl'](props), though the stand-in knows no names.
    assert.deepEqual(texts((await t.send('/start_hitl')).replies), ['hitl: {"started":true}'])
    assert.deepEqual(t.calls.map((c) => c.input), [{ title: 'help' }, { title: 'help' }])
    await t.close()
  })
})
