import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, it } from 'node:test'
import { defaultIntegration } from '../runtime/dispatch/channels.ts'
import { describe as describeMessage } from '../runtime/faces/repl.ts'
import { testBot } from '../runtime/testing.ts'
import { resolve } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { startHttp } from '../runtime/faces/http.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

// A bot that adds Telegram and chat (both simulated), and one that adds no integration.
const omni = 'test/fixtures/channel-bots/omni'
const plain = 'test/fixtures/channel-bots/plain'
const texts = (messages: { payload: Record<string, unknown> }[]) => messages.map((m) => m.payload.text)

describe("integrations' channels, talked through", () => {
  it("a message comes through the integration and channel asked for, with its tags, named after the integration as Botpress stores them, on the new conversation, user and message", async () => {
    const t = await testBot(omni)
    const { replies, conversationId } = await t.send('hi', {
      conversationId: 'tg-1',
      integration: 'telegram',
      channel: 'channel',
      tags: { conversation: { chat: '42' }, user: { handle: 'ann' }, message: { 'telegram:edited': 'no' } },
    })
    assert.deepEqual(texts(replies), ['text via telegram/channel [telegram:chat=42,telegram:handle=ann,telegram:edited=no]'])
    const { conversation } = await t.client.getConversation({ id: conversationId })
    assert.equal(conversation.integration, 'telegram')
    assert.equal(conversation.channel, 'channel')
    // The conversation stays where it was created.
    assert.deepEqual(texts((await t.send('again', { conversationId: 'tg-1' })).replies), ['text via telegram/channel [telegram:chat=42,telegram:handle=ann]'])
    await assert.rejects(t.send('moved', { conversationId: 'tg-1', integration: 'chat' }), { type: 'InvalidPayload', message: /the conversation is in telegram\/channel, not chat\/channel/ })
    await t.close()
  })

  it("without one, a new conversation is in the bot's first integration that talks, or chat when it adds chat or none", async () => {
    const t = await testBot(omni)
    assert.deepEqual(texts((await t.send('hi')).replies), ['text via chat/channel'])
    await t.close()
    const p = await testBot(plain)
    assert.deepEqual(texts((await p.send('hi')).replies), ['text via chat/channel'])
    await assert.rejects(p.send('hi', { conversationId: 'x', integration: 'telegram' }), { type: 'InvalidPayload', message: /adds no integration that talks: messages come through chat only/ })
    await p.close()
  })

  it('refuses an integration the bot does not add, a channel it lacks, a type the channel does not carry, a payload its schema refuses', async () => {
    const t = await testBot(omni)
    await assert.rejects(t.send('hi', { conversationId: 'a', integration: 'slack' }), { type: 'InvalidPayload', message: /adds no integration "slack" with channels \(it has: telegram, chat\)/ })
    await assert.rejects(t.send('hi', { conversationId: 'b', integration: 'telegram', channel: 'dm' }), { type: 'InvalidPayload', message: /integration telegram has no channel "dm" \(it has: channel\)/ })
    await assert.rejects(t.send({ sticker: 'x' }, { conversationId: 'c', type: 'sticker', integration: 'telegram' }), { type: 'InvalidPayload', message: /channel telegram\/channel carries no "sticker" messages \(it carries: text, image/ })
    await assert.rejects(t.send({ title: 'no url' }, { conversationId: 'd', type: 'image', integration: 'telegram' }), { type: 'InvalidPayload', message: /telegram\/channel refuses this image message: imageUrl: Required/ })
    // Nothing was written for any of them.
    assert.deepEqual((await t.client.listConversations({})).conversations, [])
    await t.close()
  })

  it('every standard message type can be sent through a channel', async () => {
    const t = await testBot(omni)
    const sent: Record<string, Record<string, unknown>> = {
      text: { text: 'hi' },
      markdown: { markdown: '*hi*' },
      image: { imageUrl: 'https://example.com/a.png' },
      audio: { audioUrl: 'https://example.com/a.mp3' },
      video: { videoUrl: 'https://example.com/a.mp4' },
      file: { fileUrl: 'https://example.com/a.pdf' },
      location: { latitude: 1, longitude: 2 },
      card: { title: 'T', actions: [] },
      carousel: { items: [{ title: 'T', actions: [] }] },
      choice: { text: 'pick', options: [{ label: 'a', value: 'a' }] },
      dropdown: { text: 'pick', options: [{ label: 'a', value: 'a' }] },
      bloc: { items: [{ type: 'text', payload: { text: 'hi' } }] },
    }
    for (const [type, payload] of Object.entries(sent)) {
      const { replies } = await t.send(payload, { conversationId: 'all', type, integration: 'telegram' })
      assert.deepEqual(texts(replies), [`${type} via telegram/channel`])
    }
    await t.close()
  })

  it('an integration event reaches the bot', async () => {
    const t = await testBot(omni)
    await t.send('hi', { conversationId: 'tg-2', integration: 'telegram' })
    const { replies } = await t.event('telegram:reactionAdded', { emoji: '👍' }, { conversationId: 'tg-2' })
    assert.deepEqual(texts(replies), ['reaction {"emoji":"👍"}'])
    await t.close()
  })
})

describe('the default integration', () => {
  const talking = (name: string) => ({ name, definition: { channels: { channel: { messages: { text: {} } } } } })
  it("is chat when the bot adds it; else the first it adds that people write through; else the first that talks", () => {
    assert.equal(defaultIntegration({ integrations: { sheets: talking('gsheets'), tg: talking('telegram') } } as never), 'tg')
    assert.equal(defaultIntegration({ integrations: { tg: talking('telegram'), web: talking('chat') } } as never), 'web')
    assert.equal(defaultIntegration({ integrations: { a: talking('todoist'), b: talking('notion') } } as never), 'a')
    assert.equal(defaultIntegration({} as never), 'chat')
  })
})

describe('standard messages shown as text', () => {
  it('prints each type readably, not as JSON', () => {
    assert.deepEqual(describeMessage('image', { imageUrl: 'https://x/cat.png', title: 'cat' }), ['[image] https://x/cat.png "cat"'])
    assert.deepEqual(describeMessage('file', { fileUrl: 'https://x/a.pdf' }), ['[file] https://x/a.pdf'])
    assert.deepEqual(describeMessage('location', { latitude: 45.5, longitude: -73.6, address: 'Montreal' }), ['[location] 45.5, -73.6 Montreal'])
    assert.deepEqual(describeMessage('card', { title: 'Tea', subtitle: 'green', actions: [{ action: 'postback', label: 'Buy', value: 'buy-tea' }] }), ['[card] Tea — green', '  (postback) Buy → buy-tea'])
    assert.deepEqual(describeMessage('carousel', { items: [{ title: 'A', actions: [] }, { title: 'B', actions: [] }] }), ['[carousel] 2 cards', '1. [card] A', '2. [card] B'])
    assert.deepEqual(describeMessage('choice', { text: 'Pick', options: [{ label: 'Red', value: 'red' }, { label: 'Blue', value: 'Blue' }] }), ['Pick', '  [1] Red (red)', '  [2] Blue'])
    assert.deepEqual(describeMessage('bloc', { items: [{ type: 'text', payload: { text: 'a' } }, { type: 'image', payload: { imageUrl: 'u' } }] }), ['a', '[image] u'])
    assert.deepEqual(describeMessage('markdown', { markdown: '**b**' }), ['**b**'])
    assert.deepEqual(describeMessage('sticker', { id: 1 }), ['{"type":"sticker","payload":{"id":1}}'])
  })
})

describe('channels through the REPL and HTTP', () => {
  it('the REPL lists channels, talks .via one, sends any type with .send, shows replies readably and lists action calls', async () => {
    const lines = [
      '.via',
      '.via telegram',
      'hello',
      '.send image {"imageUrl":"https://example.com/p.png"}',
      'show card',
      'show choice',
      '.via nowhere',
      '.actions',
    ]
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/main.ts', '--bots', 'test/fixtures/channel-bots', '--bot', 'omni', '--repl', '--no-http', '--virtual-clock', '--data', `.tmp/repl-channels-${process.pid}`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stdin.end(lines.join('\n') + '\n')
    const code = await new Promise((resolve) => child.on('exit', resolve))
    // `.via nowhere` failed: a script whose line failed exits 1.
    assert.equal(code, 1)
    const shown = out.split('\n').filter((line) => !line.startsWith('{'))
    assert.deepEqual(shown.slice(0, 2), ['  telegram/channel', '* chat/channel'])
    assert.match(shown[2]!, /^via telegram, conversation repl-/)
    assert.deepEqual(shown.slice(3, 9), [
      'omni> text via telegram/channel',
      'omni> image via telegram/channel',
      'omni> [card] Tea — green',
      '    (postback) Buy → buy-tea',
      'omni> Pick one',
      '    [1] Red (red)',
    ])
    assert.ok(shown.includes('error: omni adds no integration "nowhere" that talks (it has: telegram, chat)'), shown.join('\n'))
    assert.ok(shown.includes('no action calls yet'), shown.join('\n'))
  })

  it('HTTP takes integration, channel and tags in the message body', async () => {
    const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
    const runtime = await startRuntime({ botsDir: resolve('test/fixtures/channel-bots'), store, clock: new VirtualClock(), logger: createLogger({ level: 'silent' }) })
    const { server, url } = await startHttp(runtime, { host: '127.0.0.1', port: 0 })
    try {
      const post = (body: unknown) => fetch(`${url}/bots/omni/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const ok = await post({ userId: 'u1', text: 'hi', integration: 'telegram', channel: 'channel', tags: { conversation: { chat: '7' } } })
      assert.equal(ok.status, 200)
      assert.deepEqual(texts(((await ok.json()) as { replies: { payload: Record<string, unknown> }[] }).replies), ['text via telegram/channel [telegram:chat=7]'])
      const bad = await post({ userId: 'u1', text: 'hi', integration: 'slack' })
      assert.equal(bad.status, 400)
      assert.match(((await bad.json()) as { message: string }).message, /adds no integration "slack"/)
    } finally {
      server.closeAllConnections()
      await new Promise((done) => server.close(done))
      await runtime.close()
    }
  })
})
