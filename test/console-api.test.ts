import assert from 'node:assert/strict'
import { request } from 'node:http'
import { resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { startHttp } from '../runtime/faces/http.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime, type Runtime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import type { TimelineEntry } from '../runtime/timeline.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

// The routes the console and scripts read a bot's records and timeline through, over the support example
// bot (a state that expires an hour after the last message) and a bot with two integrations.
let runtime: Runtime
let url: string
let close: () => Promise<void>

before(async () => {
  const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
  const clock = new VirtualClock()
  runtime = await startRuntime({
    botsDir: resolve('bots'),
    folders: [
      { id: 'support', dir: resolve('bots/support') },
      { id: 'omni', dir: resolve('test/fixtures/channel-bots/omni') },
    ],
    store,
    clock,
    logger: createLogger({ level: 'silent' }),
  })
  const served = await startHttp(runtime, { host: '127.0.0.1', port: 0 }, { advanceClock: (s) => runtime.advanceClock!(s) })
  url = served.url
  close = async () => {
    served.server.closeAllConnections()
    await new Promise((done) => served.server.close(done))
    await runtime.close()
  }
})
after(() => close())

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path)
  return { status: res.status, body: await res.json() }
}
async function post(path: string, body: unknown): Promise<any> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  assert.equal(res.status, 200, await res.clone().text())
  return res.json()
}

describe('the console routes', () => {
  it('GET /bots: each bot with the integrations and channels it can be talked through', async () => {
    const { body } = await get('/bots')
    assert.deepEqual(body.bots, [
      { id: 'support', defaultIntegration: 'chat', integrations: [] },
      { id: 'omni', defaultIntegration: 'chat', integrations: [{ alias: 'telegram', channels: ['channel'] }, { alias: 'chat', channels: ['channel'] }] },
    ])
  })

  it('lists and gets conversations and users, the states of an owner, events and action calls', async () => {
    await post('/bots/support/messages', { userId: 'ana', conversationId: 'c1', text: 'hello' })
    await post('/bots/support/events', { type: 'dailyReport' })
    const conversations = (await get('/bots/support/conversations')).body.conversations.map((c: { id: string }) => c.id)
    assert.deepEqual(conversations, ['c1'])
    assert.equal((await get('/bots/support/conversations/c1')).body.conversation.integration, 'chat')
    assert.deepEqual((await get('/bots/support/users')).body.users.map((u: { id: string }) => u.id), ['ana'])
    assert.equal((await get('/bots/support/users/ana')).body.user.id, 'ana')
    const states = (await get('/bots/support/states/conversation/c1')).body.states
    assert.deepEqual(states.map((s: { name: string }) => s.name), ['sessionData'])
    assert.ok(states[0].expiresAt, 'with its expiry, for the countdown')
    assert.deepEqual((await get('/bots/support/events?type=dailyReport')).body.events.map((e: { status: string }) => e.status), ['processed'])
    assert.deepEqual((await get('/bots/support/actions')).body, { calls: [] })
  })

  it('answers 404 for an unknown bot or record and 400 for a bad owner type', async () => {
    assert.equal((await get('/bots/nope/conversations')).status, 404)
    assert.equal((await get('/bots/support/conversations/nope')).status, 404)
    const bad = await get('/bots/support/states/planet/x')
    assert.equal(bad.status, 400)
    assert.match(bad.body.message, /type/)
  })

  it('the timeline: a message, its state and the reply, in order; `since` resumes; the bot\'s own log lines are there, the runtime\'s per-message ones are not', async () => {
    const before = (await get('/bots/support/timeline')).body.entries as TimelineEntry[]
    const last = before.at(-1)?.seq ?? 0
    await post('/bots/support/messages', { userId: 'bo', conversationId: 'c2', text: 'hi there' })
    const entries = (await get(`/bots/support/timeline?since=${last}`)).body.entries as TimelineEntry[]
    const kinds = entries.map((e) => e.kind)
    assert.equal(kinds[0], 'incoming')
    assert.equal(entries[0]!.summary, 'bo: hi there')
    assert.ok(kinds.indexOf('state') > 0 && kinds.indexOf('state') < kinds.indexOf('reply'), kinds.join(','))
    assert.ok(!entries.some((e) => e.kind === 'log' && e.summary === 'message handled'), 'the runtime\'s info line says what the entries say')
    await post('/bots/support/events', { type: 'dailyReport' })
    const report = (await get(`/bots/support/timeline?since=${entries.at(-1)!.seq}`)).body.entries as TimelineEntry[]
    assert.ok(report.some((e) => e.kind === 'log' && /^daily report: \d+ conversations$/.test(e.summary) && e.level === 'info'), JSON.stringify(report.map((e) => e.summary)))
    assert.ok(entries.every((e) => e.seq > last && e.botId === 'support'))
  })

  it('the timeline stream sends the kept entries, then each new one; an expiry shows as it happens', async () => {
    const received: TimelineEntry[] = []
    let wanted: (() => boolean) | undefined
    let notify: () => void = () => undefined
    const req = request(`${url}/bots/support/timeline/stream`)
    req.on('response', (res) => {
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffer += chunk
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = block.split('\n').find((line) => line.startsWith('data: '))
          if (data) received.push(JSON.parse(data.slice(6)))
        }
        if (wanted?.()) notify()
      })
    })
    req.end()
    const until = (check: () => boolean) =>
      new Promise<void>((done) => {
        wanted = check
        notify = done
        if (check()) done()
      })
    await until(() => received.some((e) => e.summary === 'bo: hi there'))
    await post('/bots/support/messages', { userId: 'cy', conversationId: 'c3', text: 'streamed' })
    await until(() => received.some((e) => e.summary === 'cy: streamed') && received.some((e) => e.kind === 'reply' && e.conversationId === 'c3'))
    await post('/clock', { advance: 2 * 3600 })
    await until(() => received.some((e) => e.kind === 'expired' && (e.data as { id: string }).id === 'c3'))
    assert.ok(received.some((e) => e.kind === 'state' && e.summary === 'conversation c3 sessionData deleted'))
    req.destroy()
  })

  it('GET /clock: the time and whether it is virtual', async () => {
    const { body } = await get('/clock')
    assert.equal(body.virtual, true)
    assert.equal(body.now, new Date(runtime.clock.now()).toISOString())
  })
})
