import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { IncomingHttpHeaders, Server } from 'node:http'
import { connect as connectTcp, type Socket } from 'node:net'
import { resolve } from 'node:path'
import { describe, it } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { startHttp, type HttpFace, type HttpOptions } from '../runtime/faces/http.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime, type Runtime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

// A test that would otherwise hang on a connection nobody closes fails at this limit instead.
const HANG = { timeout: 20_000 }

type Served = HttpFace & { runtime: Runtime; port: number; timedOut: Set<number> }

/**
 * The echo bot and the gate bot (whose handler waits for `globalThis.gate`) behind the HTTP face on a free port.
 * `timedOut` holds the client ports of the connections the server closed because a timer of its own ran out.
 */
async function serveGated(options: HttpOptions = {}): Promise<Served> {
  const runtime = await startRuntime({
    botsDir: resolve('bots'),
    folders: [
      { id: 'echo', dir: resolve('bots/echo') },
      { id: 'gate', dir: resolve('test/fixtures/gate-bots/gate') },
    ],
    store: await Store.over(new MemoryLevel<string, string>() as unknown as Db),
    clock: new VirtualClock(),
    logger: createLogger({ level: 'silent' }),
  })
  const face = await startHttp(runtime, { host: '127.0.0.1', port: 0 }, options)
  const timedOut = new Set<number>()
  face.server.on('connection', (socket: Socket) => {
    const port = socket.remotePort!
    socket.on('timeout', () => timedOut.add(port))
  })
  return { ...face, runtime, port: Number(new URL(face.url).port), timedOut }
}

/** Holds the gate bot's handlers until `open()`; `entered(n)` resolves once `n` handlers have reached the gate. */
function holdGate() {
  let open!: () => void
  const opened = new Promise<void>((done) => (open = done))
  let reached = 0
  const waiting: { n: number; done: () => void }[] = []
  // The handler's `await gate` calls `then`: that is how the test learns the handler is running.
  ;(globalThis as { gate?: PromiseLike<void> }).gate = {
    then(onOpen, onFail) {
      reached++
      for (const w of waiting) if (reached >= w.n) w.done()
      return opened.then(onOpen, onFail)
    },
  }
  return {
    open,
    entered: (n: number) => new Promise<void>((done) => (reached >= n ? done() : waiting.push({ n, done }))),
  }
}

type Answer = { status: number; headers: IncomingHttpHeaders; body: any }

/**
 * One TCP connection speaking HTTP/1.1 by hand, so that a test decides what goes out on which connection and when
 * (keep-alive, pipelining); `answers(n)` resolves with the first `n` answers, or fails if the connection ends first.
 */
async function connect(s: Served) {
  const socket = connectTcp(s.port, '127.0.0.1')
  let received = ''
  let ended = false
  let error: Error | undefined
  const waiting: (() => void)[] = []
  const wake = () => waiting.splice(0).forEach((check) => check())
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    received += chunk
    wake()
  })
  socket.on('error', (e) => (error = e))
  const closed = new Promise<void>((done) =>
    socket.on('close', () => {
      ended = true
      wake()
      done()
    }),
  )
  await once(socket, 'connect')
  const port = socket.localPort!
  return {
    socket,
    closed,
    /** Resolves once the server has closed the connection, failing if it took the keep-alive or a request timer to do it. */
    closedByServer: async () => {
      await closed
      assert.equal(s.timedOut.has(port), false, 'closed by a timer of the server, not at once')
      assert.equal(error, undefined)
    },
    received: () => received,
    send: (text: string) => void socket.write(text),
    answers: (n: number) =>
      new Promise<Answer[]>((done, fail) => {
        const check = () => {
          const answers = parseAnswers(received)
          if (answers.length >= n) done(answers.slice(0, n))
          else if (ended) fail(new Error(`connection closed after ${answers.length} of ${n} answers (${error?.message ?? 'no error'}): ${JSON.stringify(received)}`))
          else waiting.push(check)
        }
        check()
      }),
  }
}

/** The complete answers at the start of `text`; every answer of the face has a content-length. */
function parseAnswers(text: string): Answer[] {
  const answers: Answer[] = []
  let rest = Buffer.from(text)
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    if (end === -1) return answers
    const [statusLine, ...lines] = rest.subarray(0, end).toString().split('\r\n')
    const headers: IncomingHttpHeaders = {}
    for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim()
    const length = Number(headers['content-length'])
    if (rest.length < end + 4 + length) return answers
    answers.push({ status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(rest.subarray(end + 4, end + 4 + length).toString()) })
    rest = rest.subarray(end + 4 + length)
  }
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nhost: localhost\r\n\r\n`
function post(path: string, body: unknown) {
  const text = JSON.stringify(body)
  return `POST ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`
}

/** Resolves once the server has read a request for `path`. */
function requestRead(server: Server, path: string) {
  return new Promise<void>((done) => {
    const onRequest = (req: { url?: string }) => {
      if (req.url !== path) return
      server.off('request', onRequest)
      done()
    }
    server.on('request', onRequest)
  })
}

/** Resolves once the server has accepted `n` connections in all. */
function accepted(server: Server, n: number) {
  const sockets: Socket[] = []
  return new Promise<Socket[]>((done) => {
    const onConnection = (socket: Socket) => {
      sockets.push(socket)
      if (sockets.length < n) return
      server.off('connection', onConnection)
      done(sockets)
    }
    server.on('connection', onConnection)
  })
}

describe('stopping the HTTP face', () => {
  it('a stop answers the message whose handler still runs, closes idle connections at once, refuses new ones, and resolves after the answer', HANG, async () => {
    const s = await serveGated()
    const gate = holdGate()
    const idle = await connect(s)
    idle.send(get('/health'))
    assert.equal((await idle.answers(1))[0]!.status, 200)
    const busy = await connect(s)
    busy.send(post('/bots/gate/messages', { userId: 'u', conversationId: 'c1', text: 'hi' }))
    await gate.entered(1)

    let stopped = false
    const stopping = s.stop().then(() => (stopped = true))
    // The kept-alive connection with nothing in flight is closed without waiting for the handler.
    await idle.closedByServer()
    const refused = connectTcp(s.port, '127.0.0.1')
    assert.equal(((await once(refused, 'error'))[0] as NodeJS.ErrnoException).code, 'ECONNREFUSED')
    assert.equal(stopped, false, 'the stop waits for the message in flight')

    gate.open()
    const [answer] = await busy.answers(1)
    assert.equal(answer!.status, 200)
    assert.deepEqual(answer!.body.replies.map((r: { payload: { text: string } }) => r.payload.text), ['old'])
    assert.equal(answer!.headers.connection, 'close')
    await busy.closedByServer()
    await stopping
    assert.equal(stopped, true)
    await s.runtime.close()
  })

  it('a request that arrives on a kept-alive connection during a stop gets a 503 with Connection: close, after the answer in flight', HANG, async () => {
    const s = await serveGated()
    const gate = holdGate()
    const busy = await connect(s)
    busy.send(post('/bots/gate/messages', { userId: 'u', conversationId: 'c1', text: 'hi' }))
    await gate.entered(1)
    const stopping = s.stop()
    const read = requestRead(s.server, '/health')
    busy.send(get('/health'))
    await read

    gate.open()
    const [answer, late] = await busy.answers(2)
    assert.equal(answer!.status, 200)
    assert.deepEqual(answer!.body.replies.map((r: { payload: { text: string } }) => r.payload.text), ['old'])
    assert.equal(late!.status, 503)
    assert.equal(late!.headers.connection, 'close')
    assert.equal(late!.headers['retry-after'], '1')
    assert.equal(late!.body.type, 'Unavailable')
    await busy.closedByServer()
    await stopping
    await s.runtime.close()
  })

  it('a stop ends the event streams, and a second stop is the same stop', HANG, async () => {
    const s = await serveGated()
    await fetch(`${s.url}/bots/echo/messages`, { method: 'POST', body: JSON.stringify({ userId: 'u', conversationId: 'live', text: 'hi' }) })
    // The runtime's own listeners (the timeline's) stay; the stream's go.
    const listening = s.runtime.bus.all.get('reply')?.length ?? 0
    const stream = await connect(s)
    stream.send(get('/bots/echo/conversations/live/stream'))
    const opened = () => stream.received().includes(': stream of new messages')
    while (!opened()) await once(stream.socket, 'data')
    const stopping = s.stop()
    assert.equal(s.stop(), stopping)
    await stream.closedByServer()
    await stopping
    assert.equal(s.runtime.bus.all.get('reply')?.length ?? 0, listening, 'the stream stopped listening')
    await s.runtime.close()
  })
})

describe('HTTP connection limits', () => {
  it('connections past maxConnections are closed as soon as accepted, and a freed place serves again', HANG, async () => {
    const s = await serveGated({ maxConnections: 2 })
    const both = accepted(s.server, 2)
    const first = await connect(s)
    const second = await connect(s)
    const [, serverSide] = await both
    const dropped = once(s.server, 'drop')
    const third = await connect(s)
    await dropped
    await third.closed
    assert.equal(third.received(), '', 'the dropped connection got no answer')
    // The two held connections still work.
    first.send(get('/health'))
    assert.equal((await first.answers(1))[0]!.status, 200)
    // Once one leaves, a new connection is served.
    second.socket.end()
    await once(serverSide!, 'close')
    const fourth = await connect(s)
    fourth.send(get('/health'))
    assert.equal((await fourth.answers(1))[0]!.status, 200)
    await s.stop()
    await s.runtime.close()
  })

  // Settings only: a test of the timers themselves would have to wait for them.
  it('by default 512 connections may be open, an idle one is closed after 5 s, headers must come within 10 s', async () => {
    const s = await serveGated()
    assert.equal(s.server.maxConnections, 512)
    assert.deepEqual(
      { keepAlive: s.server.keepAliveTimeout, headers: s.server.headersTimeout, request: s.server.requestTimeout },
      { keepAlive: 5_000, headers: 10_000, request: 30_000 },
    )
    await s.stop()
    await s.runtime.close()
  })

  it('without the token, a request is refused before its body is read, and its connection closed', HANG, async () => {
    const s = await serveGated({ token: 'T' })
    const client = await connect(s)
    // Claims 2 MiB, sends 10 bytes, and waits: the answer must not wait for the rest.
    client.send(`POST /bots/echo/messages HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${2 * 1024 * 1024}\r\n\r\n{"userId":`)
    const [answer] = await client.answers(1)
    assert.equal(answer!.status, 401)
    assert.equal(answer!.body.type, 'Unauthorized')
    await client.closedByServer()
    assert.deepEqual((await s.runtime.dispatcher.clientOf('echo').listConversations({})).conversations, [])
    await s.stop()
    await s.runtime.close()
  })
})
