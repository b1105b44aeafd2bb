import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as sdk from '@botpress/sdk'
import { resolve } from 'node:path'
import { PassThrough } from 'node:stream'
import { MemoryLevel } from 'memory-level'
import { plausible } from '../runtime/dispatch/actions.ts'
import { startHttp } from '../runtime/faces/http.ts'
import { startRepl } from '../runtime/faces/repl.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'
import { testBot } from '../runtime/testing.ts'
import { addPackages } from './support/packages.ts'

// A Botpress project calling integration actions: inventory's package is in its bp_modules (with output
// schemas), slack's is simulated; its localbot.mocks.ts mocks inventory:checkStock.
const shop = 'test/fixtures/action-bots/shop'
addPackages(shop, ['inventory'])
const texts = (messages: { payload: Record<string, unknown> }[]) => messages.map((m) => m.payload.text)

describe("integrations' actions, answered by mocks", () => {
  it("the bot folder's mock answers, and every call is recorded with its input and output", async () => {
    const t = await testBot(shop)
    assert.deepEqual(texts((await t.send('stock apple')).replies), ['7 in stock'])
    assert.deepEqual(texts((await t.send('stock none')).replies), ['out of stock'])
    assert.deepEqual(
      t.calls.map(({ type, input, output, answeredBy }) => ({ type, input, output, answeredBy })),
      [
        { type: 'inventory:checkStock', input: { sku: 'apple' }, output: { inStock: true, count: 7 }, answeredBy: 'mock' },
        { type: 'inventory:checkStock', input: { sku: 'none' }, output: { inStock: false, count: 0 }, answeredBy: 'mock' },
      ],
    )
    await t.close()
  })

  it("the harness's mockAction answers before the folder's mock", async () => {
    const t = await testBot(shop)
    t.mockAction('inventory:checkStock', ({ sku }) => ({ inStock: true, count: sku.length }))
    assert.deepEqual(texts((await t.send('stock melon')).replies), ['5 in stock'])
    await t.close()
  })

  it("without a mock, an action answers its output schema's plausible value and says once how to add a mock", async () => {
    const t = await testBot(shop)
    assert.deepEqual(texts((await t.send('reserve pear')).replies), ["reservation '' held"])
    assert.deepEqual(texts((await t.send('reserve fig')).replies), ["reservation '' held"])
    // A simulated integration's action has no schema: {}.
    assert.deepEqual(texts((await t.send('react')).replies), ['reacted'])
    const warnings = t.logs.filter((l) => l.level === 'warn' && String(l.msg).includes('has no mock'))
    assert.deepEqual(warnings.map((l) => l.action), ['inventory:reserve', 'slack:addReaction'])
    assert.match(String(warnings[0]!.msg), /localbot\.mocks\.ts.*mockAction\('inventory:reserve'/)
    assert.deepEqual(t.calls.map((c) => [c.answeredBy, c.output]), [['schema', { reservationId: '', status: 'held' }], ['schema', { reservationId: '', status: 'held' }], ['schema', {}]])
    await t.close()
  })

  it("a mock whose output breaks the action's schema fails the call with a clear error", async () => {
    const t = await testBot(shop)
    t.mockAction('inventory:checkStock', () => ({ inStock: 'yes' }))
    const { replies, message } = await t.send('stock apple')
    assert.deepEqual(replies, [])
    const { events } = await t.client.listEvents({ messageId: message.id })
    assert.equal(events[0]!.status, 'failed')
    assert.equal(events[0]!.failureReason, "action inventory:checkStock: its mock's output breaks the action's output schema: inStock: Expected boolean, received string; count: Required")
    assert.equal(t.calls[0]!.error, events[0]!.failureReason)
    await t.close()
  })

  it('a mock that throws fails the call with its message', async () => {
    const t = await testBot(shop)
    t.mockAction('slack:addReaction', () => {
      throw new Error('rate limited')
    })
    const { message } = await t.send('react')
    const { events } = await t.client.listEvents({ messageId: message.id })
    assert.match(String(events[0]!.failureReason), /action slack:addReaction: its mock threw: rate limited/)
    // The log says where the mock threw.
    const said = t.logs.find((l) => l.level === 'warn' && l.action === 'slack:addReaction')
    assert.match(String(said?.stack), /test\/actions\.test\.ts:\d+:\d+/)
    await t.close()
  })

  it("a mock gets the bot's client, to do what the real action would also have done", async () => {
    const t = await testBot(shop)
    t.mockAction('slack:addReaction', async (_input, { client, botId, type }) => {
      await client.getOrCreateConversation({ id: 'slack-general', channel: 'channel', integrationName: 'slack', tags: {} })
      return { by: `${botId} ${type}` }
    })
    assert.deepEqual(texts((await t.send('react')).replies), ['reacted'])
    assert.equal((await t.client.getConversation({ id: 'slack-general' })).conversation.integration, 'slack')
    assert.deepEqual(t.calls[0]!.output, { by: 'shop slack:addReaction' })
    await t.close()
  })

  it('strictActions: an action without a mock is an error naming how to add one', async () => {
    const t = await testBot(shop, { strictActions: true })
    assert.deepEqual(texts((await t.send('stock apple')).replies), ['7 in stock'])
    const { message } = await t.send('reserve pear')
    const { events } = await t.client.listEvents({ messageId: message.id })
    assert.match(String(events[0]!.failureReason), /action inventory:reserve has no mock \(--strict-actions\): add a mock/)
    await t.close()
  })

  it("the bot's own actions called through the client run on the bot", async () => {
    const t = await testBot('test/fixtures/sdk-bots/features')
    const { output } = await t.client.callAction({ type: 'double', input: { n: 4 } })
    assert.deepEqual(output, { result: 8 })
    assert.deepEqual(t.calls, [])
    await t.close()
  })
})

describe('plausible outputs', () => {
  const z = sdk.z
  it('fills what a schema requires with its most neutral value, defaults first, optional fields left out', () => {
    const schema = z.object({
      id: z.string(),
      n: z.number(),
      ok: z.boolean(),
      tags: z.array(z.string()),
      meta: z.record(z.string()),
      kind: z.enum(['a', 'b']),
      lit: z.literal('x'),
      maybe: z.string().nullable(),
      later: z.string().optional(),
      size: z.number().default(3),
      either: z.union([z.number(), z.string()]),
      nested: z.object({ deep: z.string() }),
    })
    assert.deepEqual(plausible(schema), { id: '', n: 0, ok: false, tags: [], meta: {}, kind: 'a', lit: 'x', maybe: null, size: 3, either: 0, nested: { deep: '' } })
  })

  it('answers what it built when a refinement refuses it', () => {
    assert.deepEqual(plausible(z.object({ email: z.string().email() })), { email: '' })
  })
})

describe('action calls, seen through the REPL and HTTP', () => {
  it('.actions lists each call with its input, output and what answered it; GET /bots/:botId/actions gives them as JSON', async () => {
    const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
    const runtime = await startRuntime({ botsDir: resolve('test/fixtures/action-bots'), store, clock: new VirtualClock(), logger: createLogger({ level: 'silent' }) })
    const { server, url } = await startHttp(runtime, { host: '127.0.0.1', port: 0 })
    try {
      const input = new PassThrough()
      const output = new PassThrough()
      let printed = ''
      output.on('data', (c) => (printed += c))
      const exited = new Promise<void>((done) => startRepl(runtime, { input, output, interactive: false, botId: 'shop', onExit: () => done() }))
      input.end('stock apple\nreact\n.actions\n')
      await exited
      const listed = printed.split('\n').filter((line) => / → /.test(line)).map((line) => line.replace(/^\S+ /, ''))
      const reaction = runtime.dispatcher.actions.calls[1]!.input
      assert.deepEqual(listed, [
        'inventory:checkStock {"sku":"apple"} → {"inStock":true,"count":7} (its mock)',
        `slack:addReaction ${JSON.stringify(reaction)} → {} (no mock: its output schema, or {})`,
      ])
      const { calls } = (await (await fetch(`${url}/bots/shop/actions`)).json()) as { calls: { type: string; answeredBy: string }[] }
      assert.deepEqual(calls.map((c) => [c.type, c.answeredBy]), [['inventory:checkStock', 'mock'], ['slack:addReaction', 'schema']])
    } finally {
      server.closeAllConnections()
      await new Promise((done) => server.close(done))
      await runtime.close()
    }
  })
})
