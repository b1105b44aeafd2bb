import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
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

  it('an event handled by a hook alone is processed, not ignored', async () => {
    const t = await testBot(features)
    const { event } = await t.event('ping', {})
    assert.equal(event.status, 'processed')
    assert.deepEqual(await t.state('bot', 'features', 'pinged'), { yes: true })
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

  it("a handler's ctx.configuration is the definition's configuration defaults (Botpress's dashboard sets it in the cloud)", async () => {
    const t = await testBot(features)
    assert.deepEqual(texts((await t.send('config')).replies), ['configured: hey'])
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

  it('workflow_update: an unfinished workflow times out at its timeoutAt and runs workflowTimeout; a finished one never does', async () => {
    const t = await testBot(features)
    await t.send('onboard', { conversationId: 'done' })
    await t.send('linger', { conversationId: 'open' })
    await t.runtime.dispatcher.idle()
    const statuses = async () => Object.fromEntries((await t.client.listWorkflows({})).workflows.map((w) => [w.conversationId, w.status]))
    assert.deepEqual(await statuses(), { done: 'completed', open: 'in_progress' })
    await t.advance('59m')
    assert.deepEqual(await statuses(), { done: 'completed', open: 'in_progress' })
    await t.advance('1m')
    assert.deepEqual(await statuses(), { done: 'completed', open: 'timedout' })
    assert.equal(texts(await t.transcript('open')).at(-1), 'onboarding timedout')
    assert.ok(!texts(await t.transcript('done')).includes('onboarding timedout'))
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

describe('a bot whose SDK takes no client (before 7.x it builds one from BP_API_URL)', () => {
  /**
   * A bot folder with its own `@botpress/sdk` that behaves, as far as the handler goes, like 5.x: Botpress's
   * own SDK whose `bot.handler` ignores `deps` and constructs the official client from the environment as each
   * call starts. (5.4.3 itself, which this registry serves, was run by hand the same way.)
   */
  function oldSdkBot(): string {
    const root = mkdtempSync(join(tmpdir(), 'localbot-old-sdk-'))
    const dir = join(root, 'old')
    const sdk = join(dir, 'node_modules', '@botpress', 'sdk')
    mkdirSync(join(dir, 'src'), { recursive: true })
    mkdirSync(sdk, { recursive: true })
    writeFileSync(join(sdk, 'package.json'), JSON.stringify({ name: '@botpress/sdk', version: '5.4.3-localbot', main: 'index.js' }))
    const require = createRequire(import.meta.url)
    writeFileSync(
      join(sdk, 'index.js'),
      `const real = require(${JSON.stringify(require.resolve('@botpress/sdk'))})
const { Client } = require(${JSON.stringify(require.resolve('@botpress/client'))})
class Bot extends real.Bot {
  constructor(props) {
    super(props)
    const handle = this.handler
    this.handler = (request) => handle(request, { client: new Client({ botId: request.headers['x-bot-id'] }) })
  }
}
module.exports = { ...real, Bot }
`,
    )
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'old', private: true, dependencies: { '@botpress/sdk': '5.4.3' } }))
    writeFileSync(
      join(dir, 'bot.definition.ts'),
      `import * as sdk from '@botpress/sdk'
export default new sdk.BotDefinition({ states: { count: { type: 'conversation', schema: sdk.z.object({ n: sdk.z.number() }) } }, events: { nudge: { schema: sdk.z.object({}) } } })
`,
    )
    writeFileSync(
      join(dir, 'src', 'index.ts'),
      `import * as bp from '.botpress'
const bot = new bp.Bot({ actions: {} })
bot.on.message('*', async ({ client, ctx, conversation }) => {
  const { state } = await client.getOrSetState({ type: 'conversation', id: conversation.id, name: 'count', payload: { n: 0 } })
  await client.setState({ type: 'conversation', id: conversation.id, name: 'count', payload: { n: state.payload.n + 1 } })
  await client.createMessage({ conversationId: conversation.id, userId: ctx.botId, type: 'text', payload: { text: 'count ' + (state.payload.n + 1) }, tags: {} })
  if (state.payload.n === 1) await client.createEvent({ type: 'nudge', payload: {}, conversationId: conversation.id })
})
bot.on.event('nudge', async ({ client, ctx, event }) => {
  await client.createMessage({ conversationId: event.conversationId!, userId: ctx.botId, type: 'text', payload: { text: 'nudged' }, tags: {} })
})
export default bot
`,
    )
    return dir
  }

  it("reaches localbot's API over loopback HTTP, with each call's client: replies come back to the turn, states persist, events run", async () => {
    const dir = oldSdkBot()
    // A developer's shell may point the SDK at the cloud: the bot must reach localbot all the same, and the variable stays.
    process.env.BP_API_URL = 'http://cloud.invalid'
    try {
      const t = await testBot(dir)
      assert.ok(t.logs.some((l) => l.msg === 'bot loaded' && /5\.4\.3-localbot takes no client/.test(String(l.sdk))), 'the transport is said at load')
      assert.deepEqual(texts((await t.send('hi', { conversationId: 'c1' })).replies), ['count 1'])
      assert.deepEqual(texts((await t.send('hi', { conversationId: 'c1' })).replies), ['count 2'])
      await t.runtime.dispatcher.idle()
      assert.deepEqual(texts(await t.transcript('c1')).filter((text) => text !== 'hi'), ['count 1', 'count 2', 'nudged'])
      assert.deepEqual(await t.state('conversation', 'c1', 'count'), { n: 2 })
      assert.equal(process.env.BP_API_URL, 'http://cloud.invalid')
      await t.close()
    } finally {
      delete process.env.BP_API_URL
      rmSync(dirname(dir), { recursive: true, force: true })
    }
  })
})
