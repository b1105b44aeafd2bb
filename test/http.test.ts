import assert from 'node:assert/strict'
import { request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http'
import { resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { UnavailableError, type Message } from '../runtime/client/index.ts'
import { MAX_BODY_BYTES, startHttp, type HttpOptions } from '../runtime/faces/http.ts'
import { parseFlags } from '../runtime/flags.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime, type Runtime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

type Served = { runtime: Runtime; clock: VirtualClock; server: Server; url: string; close(): Promise<void> }

/** The example bots (echo, support) and the order fixture bot, behind the HTTP simulator on a free port. */
async function serve(options: HttpOptions | ((clock: VirtualClock) => HttpOptions) = {}): Promise<Served> {
  const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
  const clock = new VirtualClock()
  const runtime = await startRuntime({
    botsDir: resolve('bots'),
    folders: [
      { id: 'echo', dir: resolve('bots/echo') },
      { id: 'support', dir: resolve('bots/support') },
      { id: 'order', dir: resolve('test/fixtures/order-bots/order') },
    ],
    store,
    clock,
    logger: createLogger({ level: 'silent' }),
  })
  assert.deepEqual(runtime.failures, [])
  const { server, url } = await startHttp(runtime, { host: '127.0.0.1', port: 0 }, typeof options === 'function' ? options(clock) : options)
  return {
    runtime,
    clock,
    server,
    url,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((done, fail) => server.close((error) => (error ? fail(error) : done())))
      await runtime.close()
    },
  }
}

async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, headers: res.headers, body: (await res.json()) as any }
}

/** A GET of `path` exactly as written: fetch and node's URL parsing would resolve `..` and `%2e%2e` before sending. */
function rawGet(url: string, path: string) {
  const { hostname, port } = new URL(url)
  return new Promise<{ status: number; body: any }>((done, fail) => {
    request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => done({ status: res.statusCode!, body: JSON.parse(text) }))
      res.on('error', fail)
    })
      .on('error', fail)
      .end()
  })
}

/** An error answer: status = code, and the body is exactly `{ code, type, message, id }`. */
function assertError(answer: { status: number; body: any }, code: number, type: string) {
  assert.equal(answer.status, code, `status ${answer.status}: ${JSON.stringify(answer.body)}`)
  assert.deepEqual(Object.keys(answer.body).sort(), ['code', 'id', 'message', 'type'])
  assert.match(answer.body.id, /^err_[0-9a-f]+$/)
  assert.equal(answer.body.code, code)
  assert.equal(answer.body.type, type)
  assert.equal(typeof answer.body.message, 'string')
  assert.ok(answer.body.message.length > 0)
}

/**
 * Errors thrown outside any request (in an event listener of the server) would stop the real process;
 * node:test only reports them as a warning, so they are collected here and checked.
 */
const crashes: Error[] = []
process.on('uncaughtExceptionMonitor', (error) => crashes.push(error))

async function assertHealthy(url: string) {
  assert.deepEqual(crashes.map(String), [], 'nothing escaped the request handler')
  const health = await call(url, 'GET', '/health')
  assert.equal(health.status, 200)
  assert.equal(health.body.status, 'ok')
}

/**
 * A POST through node:http with raw control over headers and body: writes `bytes` bytes in 64 KiB
 * chunks (respecting back-pressure), stopping as soon as the server answers; `end: false` leaves the
 * body unfinished. Resolves with the answer.
 */
function rawPost(url: string, path: string, options: { headers: Record<string, string | number>; bytes: number; end?: boolean }) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: any }>((done, fail) => {
    const req = request(url + path, { method: 'POST', headers: options.headers })
    let answered = false
    req.on('response', (res) => {
      answered = true
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => {
        try {
          done({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) })
        } catch (error) {
          fail(error)
        }
      })
      res.on('error', fail)
    })
    // Once answered, the server may drop the connection under the rest of the upload: that is expected.
    req.on('error', (error) => {
      if (!answered) fail(error)
    })
    const chunk = Buffer.alloc(64 * 1024, 'a')
    let sent = 0
    const pump = () => {
      while (!answered && sent < options.bytes) {
        const part = chunk.subarray(0, Math.min(chunk.length, options.bytes - sent))
        sent += part.length
        if (!req.write(part)) return void req.once('drain', pump)
      }
      if (!answered && options.end !== false) req.end()
    }
    req.flushHeaders()
    pump()
  })
}

/** Runs `body` with `object[key]` replaced by `value` (an own property shadowing any method), then puts it back. */
async function replacing(object: object, key: string, value: unknown, body: () => Promise<void>) {
  const own = Object.getOwnPropertyDescriptor(object, key)
  Object.defineProperty(object, key, { value, configurable: true, writable: true })
  try {
    await body()
  } finally {
    if (own) Object.defineProperty(object, key, own)
    else delete (object as Record<string, unknown>)[key]
  }
}

const failing = (error: unknown) => async () => {
  throw error
}

describe('HTTP simulator routes', () => {
  let s: Served
  before(async () => {
    s = await serve()
  })
  after(() => s.close())

  it('GET /health says ok and lists the loaded bots', async () => {
    const health = await call(s.url, 'GET', '/health')
    assert.equal(health.status, 200)
    assert.deepEqual(health.body.status, 'ok')
    assert.deepEqual([...health.body.bots].sort(), ['echo', 'order', 'support'])
  })

  it('a text message without conversationId starts a new conversation and answers with the echo reply', async () => {
    const first = await call(s.url, 'POST', '/bots/echo/messages', { userId: 'alice', text: 'hello' })
    assert.equal(first.status, 200)
    assert.deepEqual(Object.keys(first.body).sort(), ['conversationId', 'event', 'message', 'replies', 'userId'])
    assert.equal(first.body.event.status, 'processed')
    assert.equal(first.body.userId, 'alice')
    assert.equal(typeof first.body.conversationId, 'string')
    assert.equal(first.body.message.payload.text, 'hello')
    assert.equal(first.body.message.conversationId, first.body.conversationId)
    assert.deepEqual(first.body.replies.map((r: Message) => r.payload.text), ['#1 hello'])
    // Another message without conversationId is another conversation: its count starts again.
    const second = await call(s.url, 'POST', '/bots/echo/messages', { userId: 'alice', text: 'again' })
    assert.notEqual(second.body.conversationId, first.body.conversationId)
    assert.deepEqual(second.body.replies.map((r: Message) => r.payload.text), ['#1 again'])
    // In the first conversation, the count goes on.
    const third = await call(s.url, 'POST', '/bots/echo/messages', { userId: 'alice', conversationId: first.body.conversationId, text: 'more' })
    assert.deepEqual(third.body.replies.map((r: Message) => r.payload.text), ['#2 more'])
  })

  it('unknown conversation and user ids are created with those ids', async () => {
    const sent = await call(s.url, 'POST', '/bots/echo/messages', { userId: 'new user ü', conversationId: 'room/42 é', text: 'hi' })
    assert.equal(sent.status, 200)
    assert.equal(sent.body.conversationId, 'room/42 é')
    assert.equal(sent.body.userId, 'new user ü')
    const client = s.runtime.dispatcher.clientOf('echo')
    assert.equal((await client.getConversation({ id: 'room/42 é' })).conversation.id, 'room/42 é')
    assert.equal((await client.getUser({ id: 'new user ü' })).user.id, 'new user ü')
    // The conversation is reachable by its (encoded) id in the URL.
    const listed = await call(s.url, 'GET', `/bots/echo/conversations/${encodeURIComponent('room/42 é')}/messages`)
    assert.equal(listed.status, 200)
    assert.deepEqual(listed.body.messages.map((m: Message) => m.payload.text), ['#1 hi', 'hi'])
  })

  it('a payload message is stored as given, and the reply comes after all handlers have finished', async () => {
    const sent = await call(s.url, 'POST', '/bots/order/messages', { userId: 'bob', conversationId: 'payload-1', type: 'text', payload: { text: 'boxed' } })
    assert.equal(sent.status, 200)
    assert.deepEqual(sent.body.message.payload, { text: 'boxed' })
    assert.deepEqual(sent.body.replies.map((r: Message) => r.payload.text), ['got boxed'])
    // The order bot's state was written by the time the answer came.
    const seen = await s.runtime.dispatcher.clientOf('order').getState({ type: 'conversation', id: 'payload-1', name: 'seen' })
    assert.deepEqual(seen.state.payload, { texts: ['boxed'] })
  })

  it('a handler that throws still gives an answer (200): the message was stored, its event failed (said in the answer), no replies', async () => {
    const sent = await call(s.url, 'POST', '/bots/order/messages', { userId: 'bob', conversationId: 'boom-1', text: 'boom' })
    assert.equal(sent.status, 200)
    assert.deepEqual(sent.body.replies, [])
    assert.deepEqual([sent.body.event.status, sent.body.event.failureReason], ['failed', 'handler exploded'])
    const { events } = await s.runtime.dispatcher.clientOf('order').listEvents({ messageId: sent.body.message.id })
    assert.equal(events[0]!.status, 'failed')
  })

  it('an event in a conversation answers with the event, processed, and the bot\'s pong', async () => {
    await call(s.url, 'POST', '/bots/order/messages', { userId: 'carol', conversationId: 'ping-1', text: 'hi' })
    const pinged = await call(s.url, 'POST', '/bots/order/events', { type: 'ping', conversationId: 'ping-1', payload: { n: 1 } })
    assert.equal(pinged.status, 200)
    assert.deepEqual(Object.keys(pinged.body).sort(), ['event', 'replies'])
    assert.equal(pinged.body.event.type, 'ping')
    assert.equal(pinged.body.event.status, 'processed')
    assert.deepEqual(pinged.body.event.payload, { n: 1 })
    assert.deepEqual(pinged.body.replies.map((r: Message) => [r.conversationId, r.payload.text]), [['ping-1', 'pong']])
    // Without a listener the event is ignored, without replies.
    const ignored = await call(s.url, 'POST', '/bots/order/events', { type: 'nobody-listens' })
    assert.equal(ignored.status, 200)
    assert.equal(ignored.body.event.status, 'ignored')
    assert.deepEqual(ignored.body.replies, [])
  })

  it('an event naming an unknown conversation is a 404', async () => {
    assertError(await call(s.url, 'POST', '/bots/order/events', { type: 'ping', conversationId: 'never-made' }), 404, 'ResourceNotFound')
  })

  it('a conversation\'s messages are listed newest first, a page at a time', async () => {
    for (let i = 1; i <= 3; i++) await call(s.url, 'POST', '/bots/echo/messages', { userId: 'dave', conversationId: 'paged', text: `m${i}` })
    const texts: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const query = new URLSearchParams({ limit: '4' })
      if (token !== undefined) query.set('nextToken', token)
      const page = await call(s.url, 'GET', `/bots/echo/conversations/paged/messages?${query}`)
      assert.equal(page.status, 200)
      assert.deepEqual(Object.keys(page.body).sort(), ['messages', 'meta'])
      assert.ok(page.body.messages.length <= 4)
      texts.push(...page.body.messages.map((m: Message) => m.payload.text))
      token = page.body.meta.nextToken
      pages++
    } while (token !== undefined && pages < 10)
    assert.deepEqual(texts, ['#3 m3', 'm3', '#2 m2', 'm2', '#1 m1', 'm1'])
    assert.equal(pages, 2)
    // Without a limit, one page holds them all and has no nextToken.
    const all = await call(s.url, 'GET', '/bots/echo/conversations/paged/messages')
    assert.equal(all.body.messages.length, 6)
    assert.deepEqual(all.body.meta, {})
  })

  it('a stream of a conversation shows the incoming message and the reply as server-sent events', async () => {
    await call(s.url, 'POST', '/bots/echo/messages', { userId: 'erin', conversationId: 'live', text: 'before' })
    const listeners = () => (s.runtime.bus.all.get('reply')?.length ?? 0) + (s.runtime.bus.all.get('incoming')?.length ?? 0)
    const before = listeners()
    // Learn when the server sees the stream's request close.
    const streamClosed = new Promise<void>((done) => {
      const onRequest = (req: IncomingMessage) => {
        if (!req.url?.endsWith('/stream')) return
        s.server.off('request', onRequest)
        req.on('close', () => done())
      }
      s.server.on('request', onRequest)
    })
    const abort = new AbortController()
    const res = await fetch(`${s.url}/bots/echo/conversations/live/stream`, { signal: abort.signal })
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
    assert.equal(listeners(), before + 2)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    // Another conversation's messages do not show in this stream.
    await call(s.url, 'POST', '/bots/echo/messages', { userId: 'erin', conversationId: 'elsewhere', text: 'not here' })
    const sent = await call(s.url, 'POST', '/bots/echo/messages', { userId: 'erin', conversationId: 'live', text: 'now' })
    let text = ''
    const dataLines = () => text.split('\n').filter((line) => line.startsWith('data: '))
    while (dataLines().length < 2) {
      const { value, done } = await reader.read()
      assert.equal(done, false, `stream ended early after ${JSON.stringify(text)}`)
      text += decoder.decode(value, { stream: true })
    }
    const messages = dataLines().map((line) => JSON.parse(line.slice('data: '.length)) as Message)
    assert.deepEqual(
      messages.map((m) => [m.id, m.conversationId, m.payload.text]),
      [
        [sent.body.message.id, 'live', 'now'],
        [sent.body.replies[0].id, 'live', '#2 now'],
      ],
    )
    assert.ok(text.includes('event: message\n'))
    abort.abort()
    await reader.cancel().catch(() => {})
    await streamClosed
    // The stream stopped listening when the client left.
    assert.equal(listeners(), before)
    // The server goes on after the client left.
    await assertHealthy(s.url)
  })

  it('a stream of an unknown conversation is a 404 error, not a stream', async () => {
    assertError(await call(s.url, 'GET', '/bots/echo/conversations/nope/stream'), 404, 'ResourceNotFound')
  })

  it('POST /clock without a virtual clock is a 400', async () => {
    assertError(await call(s.url, 'POST', '/clock', { advance: 60 }), 400, 'InvalidPayload')
  })
})

describe('HTTP simulator with a virtual clock', () => {
  it('POST /clock moves the clock by the given seconds and answers the new time', async () => {
    const s = await serve((clock) => ({ advanceClock: async (seconds) => clock.advance(seconds * 1000) }))
    try {
      const start = s.clock.now()
      const moved = await call(s.url, 'POST', '/clock', { advance: 90 * 60 })
      assert.equal(moved.status, 200)
      assert.deepEqual(moved.body, { now: new Date(start + 90 * 60 * 1000).toISOString() })
      assert.equal(s.clock.now(), start + 90 * 60 * 1000)
      // Messages are stamped with the moved time.
      const sent = await call(s.url, 'POST', '/bots/echo/messages', { userId: 'u', text: 'later' })
      assert.equal(sent.body.message.createdAt, moved.body.now)
      assertError(await call(s.url, 'POST', '/clock', { advance: -1 }), 400, 'InvalidPayload')
      assertError(await call(s.url, 'POST', '/clock', { advance: '60' }), 400, 'InvalidPayload')
      assertError(await call(s.url, 'POST', '/clock', {}), 400, 'InvalidPayload')
      assert.equal(s.clock.now(), start + 90 * 60 * 1000)
    } finally {
      await s.close()
    }
  })
})

describe('HTTP simulator errors', () => {
  let s: Served
  before(async () => {
    s = await serve()
  })
  after(async () => {
    try {
      // Whatever was thrown at it, the server still answers.
      await assertHealthy(s.url)
    } finally {
      await s.close()
    }
  })

  it('a body that is not JSON is a 400', async () => {
    assertError(await call(s.url, 'POST', '/bots/echo/messages', '{"userId": "a", text'), 400, 'InvalidPayload')
    assertError(await call(s.url, 'POST', '/bots/echo/events', 'not json at all'), 400, 'InvalidPayload')
  })

  it('JSON that is not an object is a 400', async () => {
    for (const body of ['null', '[1,2]', '"text"', '42'])
      assertError(await call(s.url, 'POST', '/bots/echo/messages', body), 400, 'InvalidPayload')
  })

  it('fields of the wrong type are a 400', async () => {
    const wrong: unknown[] = [
      { userId: 42, text: 'x' },
      { userId: 'a', text: 42 },
      { userId: 'a', conversationId: 7, text: 'x' },
      { userId: 'a', payload: 'x' },
      { userId: 'a', payload: ['x'] },
      { userId: 'a', type: 5, text: 'x' },
      { userId: 'a' },
    ]
    for (const body of wrong) assertError(await call(s.url, 'POST', '/bots/echo/messages', body), 400, 'InvalidPayload')
    for (const body of [{}, { type: 3 }, { type: 'ping', payload: 'x' }, { type: 'ping', conversationId: false }])
      assertError(await call(s.url, 'POST', '/bots/order/events', body), 400, 'InvalidPayload')
  })

  it('a message without userId is a 400 that names userId', async () => {
    const answer = await call(s.url, 'POST', '/bots/echo/messages', { text: 'who am I' })
    assertError(answer, 400, 'InvalidPayload')
    assert.match(answer.body.message, /userId/)
  })

  it('ids over 200 characters or with control characters are a 400, and create nothing', async () => {
    const long = 'x'.repeat(201)
    assert.equal((await call(s.url, 'POST', '/bots/echo/messages', { userId: 'x'.repeat(200), conversationId: 'y'.repeat(200), text: 'ok' })).status, 200)
    for (const body of [
      { userId: long, text: 'x' },
      { userId: 'a', conversationId: long, text: 'x' },
      { userId: 'a\u0000b', text: 'x' },
      { userId: 'a', conversationId: 'tab\there', text: 'x' },
      { userId: 'a', conversationId: 'del\u007f', text: 'x' },
      { userId: '', text: 'x' },
    ])
      assertError(await call(s.url, 'POST', '/bots/echo/messages', body), 400, 'InvalidPayload')
    assertError(await call(s.url, 'POST', '/bots/order/events', { type: 'ping', userId: long }), 400, 'InvalidPayload')
    assertError(await call(s.url, 'GET', `/bots/echo/conversations/${encodeURIComponent('a\nb')}/messages`), 400, 'InvalidPayload')
    const { conversations } = await s.runtime.dispatcher.clientOf('echo').listConversations({})
    assert.ok(conversations.every((c) => c.id.length <= 200 && !/[\u0000-\u001f\u007f]/.test(c.id)))
  })

  it('an unknown bot is a 404 on every bot route', async () => {
    assertError(await call(s.url, 'POST', '/bots/ghost/messages', { userId: 'a', text: 'x' }), 404, 'ResourceNotFound')
    assertError(await call(s.url, 'POST', '/bots/ghost/events', { type: 'ping' }), 404, 'ResourceNotFound')
    assertError(await call(s.url, 'GET', '/bots/ghost/conversations/c/messages'), 404, 'ResourceNotFound')
    assertError(await call(s.url, 'GET', '/bots/ghost/conversations/c/stream'), 404, 'ResourceNotFound')
  })

  it('listing the messages of an unknown conversation is a 404', async () => {
    assertError(await call(s.url, 'GET', '/bots/echo/conversations/never-made/messages'), 404, 'ResourceNotFound')
  })

  it('a bad limit or a foreign nextToken is a 400', async () => {
    await call(s.url, 'POST', '/bots/echo/messages', { userId: 'a', conversationId: 'lim', text: 'x' })
    for (const query of ['limit=0', 'limit=abc', 'limit=1.5', 'limit=101', 'nextToken=bm90LWEtdG9rZW4'])
      assertError(await call(s.url, 'GET', `/bots/echo/conversations/lim/messages?${query}`), 400, 'InvalidPayload')
  })

  it('an unknown route is a 404, a known route with the wrong method a 405', async () => {
    assertError(await call(s.url, 'GET', '/nowhere'), 404, 'ResourceNotFound')
    assertError(await call(s.url, 'GET', '/bots/echo'), 404, 'ResourceNotFound')
    assertError(await call(s.url, 'POST', '/bots/echo/messages/extra', { userId: 'a', text: 'x' }), 404, 'ResourceNotFound')
    assertError(await call(s.url, 'GET', '/bots/%E0%A4%A/messages'), 404, 'ResourceNotFound')
    assertError(await call(s.url, 'POST', '/health', {}), 405, 'MethodNotFound')
    assertError(await call(s.url, 'GET', '/bots/echo/messages'), 405, 'MethodNotFound')
    assertError(await call(s.url, 'DELETE', '/bots/echo/conversations/c/messages'), 405, 'MethodNotFound')
    assertError(await call(s.url, 'DELETE', '/clock'), 405, 'MethodNotFound')
  })

  it('a body over 1 MiB with an honest content-length is a 413', async () => {
    const answer = await rawPost(s.url, '/bots/echo/messages', {
      headers: { 'content-type': 'application/json', 'content-length': MAX_BODY_BYTES + 1 },
      bytes: MAX_BODY_BYTES + 1,
    })
    assertError(answer, 413, 'PayloadTooLarge')
    await assertHealthy(s.url)
  })

  // Without an early refusal the server would wait for the body forever: the timeout turns that hang into a failure.
  it('a content-length over 1 MiB is refused at once, before the body is sent', { timeout: 20_000 }, async () => {
    // The client claims 2 MiB, sends 10 bytes and waits: the answer must come without the rest.
    const answer = await rawPost(s.url, '/bots/echo/events', {
      headers: { 'content-type': 'application/json', 'content-length': 2 * MAX_BODY_BYTES },
      bytes: 10,
      end: false,
    })
    assertError(answer, 413, 'PayloadTooLarge')
    await assertHealthy(s.url)
  })

  it('a chunked body that grows over 1 MiB is a 413', async () => {
    const answer = await rawPost(s.url, '/bots/echo/messages', {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      bytes: 3 * MAX_BODY_BYTES,
    })
    assertError(answer, 413, 'PayloadTooLarge')
    await assertHealthy(s.url)
  })

  it('a body of exactly 1 MiB is read (and then judged on its content)', async () => {
    const json = JSON.stringify({ userId: 'a', text: 'x' })
    const body = json + ' '.repeat(MAX_BODY_BYTES - json.length)
    assert.equal(Buffer.byteLength(body), MAX_BODY_BYTES)
    const sent = await call(s.url, 'POST', '/bots/echo/messages', body)
    assert.equal(sent.status, 200)
    assert.deepEqual(sent.body.replies.map((r: Message) => r.payload.text), ['#1 x'])
  })

  it('dot-dot segments do not climb out of one bot into another\'s conversation', async () => {
    await call(s.url, 'POST', '/bots/echo/messages', { userId: 'eve', conversationId: 'c1', text: 'echo only' })
    const answer = await rawGet(s.url, '/bots/support/conversations/x/%2e%2e/%2e%2e/%2e%2e/echo/conversations/c1/messages')
    assertError(answer, 404, 'ResourceNotFound')
    assert.doesNotMatch(JSON.stringify(answer.body), /echo only/)
    assertError(await rawGet(s.url, '/bots/support/conversations/x/../../../echo/conversations/c1/messages'), 404, 'ResourceNotFound')
    assertError(await rawGet(s.url, '/bots/echo/conversations/c2/%2e%2e/c1/messages'), 404, 'ResourceNotFound')
    // Through the front door, the same conversation is there.
    assert.equal((await rawGet(s.url, '/bots/echo/conversations/c1/messages')).status, 200)
  })

  it('a segment "." or ".." is an id like any other, here of no conversation', async () => {
    for (const id of ['..', '%2e%2e', '.', '%2E'])
      assertError(await rawGet(s.url, `/bots/echo/conversations/${id}/messages`), 404, 'ResourceNotFound')
  })

  it('%2F stays inside its id, and a bare slash is another path', async () => {
    await call(s.url, 'POST', '/bots/echo/messages', { userId: 'eve', conversationId: 'a/b', text: 'slashed' })
    const listed = await rawGet(s.url, '/bots/echo/conversations/a%2Fb/messages')
    assert.equal(listed.status, 200)
    assert.deepEqual(listed.body.messages.map((m: Message) => m.payload.text), ['#1 slashed', 'slashed'])
    assertError(await rawGet(s.url, '/bots/echo/conversations/a/b/messages'), 404, 'ResourceNotFound')
    const ghost = await rawGet(s.url, '/bots/ec%2Fho/conversations/a%2Fb/messages')
    assertError(ghost, 404, 'ResourceNotFound')
    assert.match(ghost.body.message, /"ec\/ho"/)
  })

  it('a __proto__ key in a message payload is refused with a 400 naming it, and nothing is stored', async () => {
    const answer = await call(s.url, 'POST', '/bots/echo/messages', '{"userId":"u","conversationId":"p1","payload":{"text":"hi","__proto__":{"x":1}}}')
    assertError(answer, 400, 'InvalidPayload')
    assert.match(answer.body.message, /payload: a key cannot be named __proto__/)
    const nested = await call(s.url, 'POST', '/bots/echo/messages', '{"userId":"u","conversationId":"p1","payload":{"text":"hi","card":{"__proto__":{"x":1}}}}')
    assertError(nested, 400, 'InvalidPayload')
    assert.match(nested.body.message, /payload\.card: a key cannot be named __proto__/)
    assertError(await call(s.url, 'POST', '/bots/order/events', '{"type":"ping","payload":{"__proto__":{"x":1}}}'), 400, 'InvalidPayload')
    assert.ok((await s.runtime.dispatcher.clientOf('echo').listConversations({})).conversations.every((c) => c.id !== 'p1'))
    assert.equal(({} as { x?: number }).x, undefined)
  })

  it('keys that only look special, such as constructor, are kept', async () => {
    const sent = await call(s.url, 'POST', '/bots/order/messages', { userId: 'u', conversationId: 'p2', payload: { text: 'hi', constructor: 'c', prototype: 'p' } })
    assert.equal(sent.status, 200)
    assert.deepEqual(sent.body.message.payload, { text: 'hi', constructor: 'c', prototype: 'p' })
  })

  it('an Unavailable error is a 503 with Retry-After: 1 and the error body', async () => {
    await replacing(s.runtime.dispatcher, 'sendMessage', failing(new UnavailableError('disk full: nothing was written')), async () => {
      const answer = await call(s.url, 'POST', '/bots/echo/messages', { userId: 'u', text: 'hi' })
      assertError(answer, 503, 'Unavailable')
      assert.equal(answer.headers.get('retry-after'), '1')
      assert.equal(answer.body.message, 'disk full: nothing was written')
    })
  })

  it('any other error whose code is 503 is an Unavailable 503 too', async () => {
    await replacing(s.runtime.dispatcher, 'sendMessage', failing(Object.assign(new Error('too many open files'), { code: 503 })), async () => {
      const answer = await call(s.url, 'POST', '/bots/echo/messages', { userId: 'u', text: 'hi' })
      assertError(answer, 503, 'Unavailable')
      assert.equal(answer.headers.get('retry-after'), '1')
    })
    // Once the store writes again, so does the message route.
    assert.equal((await call(s.url, 'POST', '/bots/echo/messages', { userId: 'u', text: 'hi' })).status, 200)
  })

  it('GET /health says unavailable, with the store\'s reason, while the store says it is not healthy', async () => {
    const sick = () => ({ ok: false, reason: 'disk-full', message: 'no space left on device' })
    await replacing(s.runtime.store, 'health', sick, async () => {
      const health = await call(s.url, 'GET', '/health')
      assert.equal(health.status, 503)
      assert.equal(health.headers.get('retry-after'), '1')
      assert.deepEqual({ ...health.body, bots: [...health.body.bots].sort() }, { status: 'unavailable', reason: 'disk-full', message: 'no space left on device', bots: ['echo', 'order', 'support'] })
    })
    await replacing(s.runtime.store, 'health', () => ({ ok: true }), async () => {
      const healthy = await call(s.url, 'GET', '/health')
      assert.equal(healthy.status, 200)
      assert.deepEqual({ ...healthy.body, bots: [...healthy.body.bots].sort() }, { status: 'ok', bots: ['echo', 'order', 'support'] })
    })
  })
})

describe('HTTP simulator token', () => {
  let s: Served
  before(async () => {
    s = await serve({ token: 'T' })
  })
  after(() => s.close())

  it('requests without the token, or with a wrong one, are a 401', async () => {
    assertError(await call(s.url, 'GET', '/health'), 401, 'Unauthorized')
    assertError(await call(s.url, 'GET', '/health', undefined, { authorization: 'Bearer wrong' }), 401, 'Unauthorized')
    assertError(await call(s.url, 'GET', '/health', undefined, { authorization: 'T' }), 401, 'Unauthorized')
    assertError(await call(s.url, 'GET', '/health', undefined, { authorization: 'Bearer TT' }), 401, 'Unauthorized')
    assertError(await call(s.url, 'GET', '/health', undefined, { authorization: 'bearer T' }), 401, 'Unauthorized')
    assertError(await call(s.url, 'POST', '/bots/echo/messages', { userId: 'a', text: 'sneak' }), 401, 'Unauthorized')
    // Nothing was stored by the refused message.
    const { conversations } = await s.runtime.dispatcher.clientOf('echo').listConversations({})
    assert.deepEqual(conversations, [])
  })

  it('requests with Authorization: Bearer T go through', async () => {
    const auth = { authorization: 'Bearer T' }
    const health = await call(s.url, 'GET', '/health', undefined, auth)
    assert.equal(health.status, 200)
    const sent = await call(s.url, 'POST', '/bots/echo/messages', { userId: 'a', text: 'hi' }, auth)
    assert.equal(sent.status, 200)
    assert.deepEqual(sent.body.replies.map((r: Message) => r.payload.text), ['#1 hi'])
  })
})

describe('flags', () => {
  it('defaults to 127.0.0.1:3000', () => {
    const flags = parseFlags([])
    assert.equal(flags.host, '127.0.0.1')
    assert.equal(flags.port, 3000)
    assert.equal(flags.token, undefined)
  })

  it('--host 0.0.0.0 without --token is refused with an error naming --host', () => {
    assert.throws(() => parseFlags(['--host', '0.0.0.0']), (error: Error) => {
      assert.match(error.message, /--host/)
      assert.match(error.message, /--token/)
      return true
    })
  })

  it('--host 0.0.0.0 with --token is accepted', () => {
    const flags = parseFlags(['--host', '0.0.0.0', '--token', 'T', '--port', '0'])
    assert.equal(flags.host, '0.0.0.0')
    assert.equal(flags.token, 'T')
    assert.equal(flags.port, 0)
  })
})
