import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { testBot } from '../runtime/testing.ts'

// Each operation Botpress Cloud sends, through Botpress's own SDK: the bot is a Botpress project using hooks,
// actions, workflows, register and zui's extensions (test/fixtures/sdk-bots/features).
const features = 'test/fixtures/sdk-bots/features'
const texts = (messages: { payload: Record<string, unknown> }[]) => messages.map((m) => m.payload.text)

describe("the handler protocol, through Botpress's SDK", () => {
  it('message_created runs the beforeIncomingMessage hook, the handler and the beforeOutgoingMessage hook', async () => {
    const t = await testBot(features)
    const { replies } = await t.send('hello')
    assert.deepEqual(texts(replies), ['HELLO (1)'])
    assert.deepEqual(replies[0]!.tags, { hooked: 'yes' })
    assert.deepEqual(texts((await t.send('again')).replies), ['AGAIN (2)'])
    await t.close()
  })

  it('an event runs its handler', async () => {
    const t = await testBot(features)
    await t.send('hi', { conversationId: 'c1' })
    const { replies } = await t.event('nudge', { reason: 'test' }, { conversationId: 'c1' })
    assert.deepEqual(texts(replies), ['nudged'])
    await t.close()
  })

  it('state_expired runs the stateExpired handler; a Botpress project counts expiry in milliseconds', async () => {
    const t = await testBot(features)
    await t.send('hi', { conversationId: 'c1' })
    const { state } = await t.client.getState({ type: 'conversation', id: 'c1', name: 'visits' })
    assert.equal(state.expiry, 60_000)
    assert.equal(Date.parse(state.expiresAt!) - t.clock.now(), 60_000)
    await t.advance(59)
    assert.ok(await t.state('conversation', 'c1', 'visits'), 'alive before its minute')
    await t.advance(2)
    assert.equal(await t.state('conversation', 'c1', 'visits'), undefined)
    assert.equal(texts(await t.transcript('c1')).at(-1), 'visits forgotten')
    assert.ok(t.logs.some((l) => l.msg === 'bot loaded' && String(l.expiry).startsWith('milliseconds')), 'the unit is said at load')
    await t.close()
  })

  it('action_triggered runs the action and answers its output; bot.actionHandlers works from a handler', async () => {
    const t = await testBot(features)
    assert.deepEqual(await t.runtime.dispatcher.triggerAction('features', 'double', { n: 5 }), { result: 10 })
    await assert.rejects(t.runtime.dispatcher.triggerAction('features', 'triple', { n: 5 }), /Action triple not found/)
    assert.deepEqual(texts((await t.send('double')).replies), ['doubled: 42'])
    await t.close()
  })

  it('register runs when the bot is loaded, as when Botpress deploys it', async () => {
    const t = await testBot(features)
    await t.runtime.dispatcher.idle()
    const deployed = await t.state('bot', 'features', 'deployed')
    assert.equal(deployed?.at, new Date(t.clock.now()).toISOString())
    await t.close()
  })

  it('workflow_update: a started workflow instance runs workflowStart, which completes it', async () => {
    const t = await testBot(features)
    const { replies } = await t.send('onboard', { conversationId: 'c1' })
    assert.deepEqual(texts(replies), ['workflow pending'])
    await t.runtime.dispatcher.idle()
    assert.equal(texts(await t.transcript('c1')).at(-1), 'onboarding step 1')
    const { workflows } = await t.client.listWorkflows({})
    assert.deepEqual(
      workflows.map((w) => [w.name, w.status, w.output]),
      [['onboarding', 'completed', { done: true }]],
    )
    await t.close()
  })

  it('zui extensions (.title, .placeholder, .displayAs) load, and a declared state rejects a bad payload', async () => {
    const t = await testBot(features)
    await t.send('hi', { conversationId: 'c1' })
    await assert.rejects(t.client.setState({ type: 'conversation', id: 'c1', name: 'visits', payload: { count: 'many' } }), { type: 'InvalidPayload' })
    await t.close()
  })
})

describe('a Botpress project as it is cloned: no bp_modules downloaded, no .genenv generated', () => {
  it('loads with a simulated integration (said once) and its settings from the environment, and converses', async () => {
    process.env.PROJECT_GREETING = 'howdy'
    try {
      const t = await testBot('test/fixtures/project-bots/project')
      assert.deepEqual(texts((await t.send('hi')).replies), ['howdy: text'])
      const said = t.logs.filter((l) => String(l.msg).startsWith('bp_modules not downloaded'))
      assert.deepEqual(said.map((l) => l.packages), [['chat']])
      await t.close()
    } finally {
      delete process.env.PROJECT_GREETING
    }
  })
})

describe('a Botpress project whose plugin needs an interface of an integration, neither downloaded', () => {
  it('loads (the simulated integration has every interface a plugin asks for) and converses', async () => {
    const t = await testBot('test/fixtures/project-bots/withplugin')
    assert.deepEqual(texts((await t.send('hi')).replies), ['still here'])
    await t.close()
  })
})
