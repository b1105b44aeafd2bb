import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { z } from 'zod'
import { ApiError, InternalError, InvalidPayloadError, MethodNotFoundError, ResourceNotFoundError, UnauthorizedError, UnavailableError, type Client, type Message } from '../client/index.ts'
import { idSchema, stateTypes, tagsSchema } from '../client/common.ts'
import { channelNames, defaultIntegration, talkingIntegrations } from '../dispatch/channels.ts'
import type { Runtime } from '../runtime.ts'
import { readJsonBody } from './body.ts'
import { serveBotpressApi } from './botpress-api.ts'
import { isConsoleUrl, serveConsole } from './console.ts'
import { isFileUrl, runtimeFiles, serveFile } from './files.ts'

export { MAX_BODY_BYTES } from './body.ts'

/** Open connections past this many are closed as soon as they are accepted, unless `maxConnections` says otherwise. */
export const MAX_CONNECTIONS = 512

/** How long the server waits, in ms: for the next request on an idle connection, for a request's headers, for a whole request. */
export const TIMEOUTS_MS = { keepAlive: 5_000, headers: 10_000, request: 30_000 } as const

/** What the HTTP face needs beyond the runtime. */
export type HttpOptions = {
  token?: string
  /** Moves the virtual clock; absent when the real clock runs. */
  advanceClock?: (seconds: number) => Promise<number>
  /** Connections open at once; more are closed at once, before a request is read (default MAX_CONNECTIONS). */
  maxConnections?: number
}

/** The running HTTP face. */
export type HttpFace = {
  server: Server
  url: string
  /**
   * Stops accepting connections, closes the idle ones at once, answers every request in flight (then closes its
   * connection), ends the event streams, and answers requests that arrive meanwhile with a 503; resolves once every
   * connection is closed. Calling it again returns the same promise.
   */
  stop(): Promise<void>
}

/** What `runtime.store.health()` answers (the store may not have it yet). */
type StoreHealth = { ok: true } | { ok: false; reason: 'disk-full' | 'out-of-descriptors' | 'failed'; message: string }

type Params = Record<string, string>
type Request = { params: Params; query: URLSearchParams; body: () => Promise<unknown>; req: IncomingMessage; res: ServerResponse }
type Route = { method: string; pattern: string; run: (runtime: Runtime, options: HttpOptions, request: Request) => Promise<unknown> }

/** An answer with a status other than 200, or with headers of its own. */
class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** Every 503 tells the client when to try again, in seconds. */
const RETRY_AFTER = { 'retry-after': '1' }

const textPayload = z.record(z.string(), z.unknown())

const messageBody = z
  .object({
    userId: idSchema,
    conversationId: idSchema.optional(),
    type: z.string().min(1).max(200).optional(),
    payload: textPayload.optional(),
    text: z.string().max(128 * 1024).optional(),
    // The integration (its alias in the bot's definition) and channel the message comes through, and tags.
    integration: z.string().min(1).max(200).optional(),
    channel: z.string().min(1).max(200).optional(),
    tags: z.object({ conversation: tagsSchema.optional(), user: tagsSchema.optional(), message: tagsSchema.optional() }).strict().optional(),
  })
  .refine((b) => b.payload !== undefined || b.text !== undefined, { message: 'give text or payload', path: ['text'] })

const eventBody = z.object({
  type: z.string().min(1).max(200),
  payload: textPayload.optional(),
  conversationId: idSchema.optional(),
  userId: idSchema.optional(),
})

const clockBody = z.object({ advance: z.number().min(0).max(10 * 365 * 24 * 3600) })

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  nextToken: z.string().max(4096).optional(),
})

const eventsQuery = pageQuery.extend({
  type: z.string().min(1).max(200).optional(),
  conversationId: idSchema.optional(),
  userId: idSchema.optional(),
  messageId: idSchema.optional(),
  // Checked by the client against Botpress's statuses.
  status: z.string().max(50).optional(),
})

const sinceQuery = z.object({ since: z.coerce.number().int().min(0).optional() })

const stateOwner = z.object({ type: z.enum(stateTypes), id: idSchema })

/** One SSE message. */
const sse = (event: string, data: unknown, id?: number) => `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

/**
 * The path of the first `__proto__` key in a JSON value, if any. JSON.parse keeps such a key as an own property,
 * but zod's record drops it and a copy by assignment would set a prototype: refusing it is the only safe answer.
 * Walks with a stack of its own, as a 1 MiB body can nest deeper than the call stack.
 */
function protoKey(value: unknown): string | undefined {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }]
  while (stack.length > 0) {
    const { value, path } = stack.pop()!
    if (typeof value !== 'object' || value === null) continue
    for (const key of Object.keys(value)) {
      if (key === '__proto__') return path.join('.') || 'body'
      stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] })
    }
  }
  return undefined
}

function parse<S extends z.ZodType>(what: string, schema: S, value: unknown): z.output<S> {
  const where = protoKey(value)
  if (where !== undefined) throw new InvalidPayloadError(`${what}: ${where}: a key cannot be named __proto__`)
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  throw new InvalidPayloadError(`${what}: ${issue.path.join('.') || 'body'}: ${issue.message}`)
}

function requireBot(runtime: Runtime, botId: string): void {
  if (runtime.dispatcher.botOf(botId) === undefined) throw new ResourceNotFoundError(`bot ${JSON.stringify(botId)} not found`)
}

/** The routes of CONTRACT section 5, as a table. */
const routes: Route[] = [
  {
    method: 'GET',
    pattern: '/health',
    run: async (runtime) => {
      const bots = runtime.dispatcher.botIds()
      const health = await (runtime.store as { health?: () => StoreHealth | Promise<StoreHealth> }).health?.()
      if (health === undefined || health.ok) return { status: 'ok', bots }
      return new Reply(503, { status: 'unavailable', reason: health.reason, message: health.message, bots }, RETRY_AFTER)
    },
  },
  {
    method: 'POST',
    pattern: '/bots/:botId/messages',
    run: async (runtime, _options, { params, body }) => {
      requireBot(runtime, params.botId!)
      const input = parse('message', messageBody, await body())
      const payload = input.payload ?? { text: input.text }
      const { text: _text, ...rest } = input
      return runtime.dispatcher.sendMessage(params.botId!, { ...rest, payload })
    },
  },
  {
    method: 'POST',
    pattern: '/bots/:botId/events',
    run: async (runtime, _options, { params, body }) => {
      requireBot(runtime, params.botId!)
      const input = parse('event', eventBody, await body())
      return runtime.dispatcher.sendEvent(params.botId!, input)
    },
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/conversations/:id/messages',
    run: async (runtime, _options, { params, query }) => {
      requireBot(runtime, params.botId!)
      const client = runtime.dispatcher.clientOf(params.botId!)
      await client.getConversation({ id: params.id! })
      const page = parse('query', pageQuery, Object.fromEntries(query))
      return client.listMessages({ conversationId: params.id!, ...page })
    },
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/conversations/:id/stream',
    run: async (runtime, _options, { params, res }) => {
      requireBot(runtime, params.botId!)
      await runtime.dispatcher.clientOf(params.botId!).getConversation({ id: params.id! })
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
      res.write(': stream of new messages\n\n')
      // The user's messages and the bot's replies alike.
      const onMessage = ({ botId, message }: { botId: string; message: Message }) => {
        if (botId === params.botId && message.conversationId === params.id) res.write(sse('message', message))
      }
      runtime.bus.on('reply', onMessage)
      runtime.bus.on('incoming', onMessage)
      // The response's close: the client left, or a stop ended the stream.
      res.on('close', () => {
        runtime.bus.off('reply', onMessage)
        runtime.bus.off('incoming', onMessage)
      })
      return STREAMING
    },
  },
  {
    method: 'GET',
    pattern: '/bots',
    run: async (runtime) => ({
      bots: runtime.dispatcher.botIds().map((id) => {
        const definition = runtime.dispatcher.botOf(id)!.definition
        return {
          id,
          defaultIntegration: defaultIntegration(definition),
          integrations: talkingIntegrations(definition).map((alias) => ({ alias, channels: channelNames(definition, alias) })),
        }
      }),
    }),
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/conversations',
    run: async (runtime, _options, { params, query }) => {
      requireBot(runtime, params.botId!)
      return runtime.dispatcher.clientOf(params.botId!).listConversations(parse('query', pageQuery, Object.fromEntries(query)))
    },
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/conversations/:id',
    run: async (runtime, _options, { params }) => {
      requireBot(runtime, params.botId!)
      return runtime.dispatcher.clientOf(params.botId!).getConversation({ id: params.id! })
    },
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/users',
    run: async (runtime, _options, { params, query }) => {
      requireBot(runtime, params.botId!)
      return runtime.dispatcher.clientOf(params.botId!).listUsers(parse('query', pageQuery, Object.fromEntries(query)))
    },
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/users/:id',
    run: async (runtime, _options, { params }) => {
      requireBot(runtime, params.botId!)
      return runtime.dispatcher.clientOf(params.botId!).getUser({ id: params.id! })
    },
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/states/:type/:id',
    run: async (runtime, _options, { params, query }) => {
      requireBot(runtime, params.botId!)
      const owner = parse('path', stateOwner, { type: params.type, id: params.id })
      return runtime.dispatcher.clientOf(params.botId!).listStates({ ...owner, ...parse('query', pageQuery, Object.fromEntries(query)) })
    },
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/events',
    run: async (runtime, _options, { params, query }) => {
      requireBot(runtime, params.botId!)
      const input = parse('query', eventsQuery, Object.fromEntries(query)) as Parameters<Client['listEvents']>[0]
      return runtime.dispatcher.clientOf(params.botId!).listEvents(input)
    },
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/actions',
    run: async (runtime, _options, { params }) => {
      requireBot(runtime, params.botId!)
      return { calls: runtime.dispatcher.actions.calls.filter((call) => call.botId === params.botId) }
    },
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/timeline',
    run: async (runtime, _options, { params, query }) => {
      requireBot(runtime, params.botId!)
      const { since } = parse('query', sinceQuery, Object.fromEntries(query))
      return { entries: runtime.timeline.entries(params.botId!, since) }
    },
  },
  {
    method: 'GET',
    pattern: '/bots/:botId/timeline/stream',
    run: async (runtime, _options, { params, query, req, res }) => {
      requireBot(runtime, params.botId!)
      const lastId = req.headers['last-event-id']
      const { since } = parse('query', sinceQuery, { ...Object.fromEntries(query), ...(typeof lastId === 'string' ? { since: lastId } : {}) })
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
      res.write(': the bot\'s timeline: kept entries first, then each new one\n\n')
      for (const entry of runtime.timeline.entries(params.botId!, since)) res.write(sse('entry', entry, entry.seq))
      const stop = runtime.timeline.subscribe(params.botId!, (entry) => res.write(sse('entry', entry, entry.seq)))
      res.on('close', stop)
      return STREAMING
    },
  },
  {
    method: 'GET',
    pattern: '/clock',
    run: async (runtime, options) => ({ now: new Date(runtime.clock.now()).toISOString(), virtual: options.advanceClock !== undefined }),
  },
  {
    method: 'POST',
    pattern: '/clock',
    run: async (_runtime, options, { body }) => {
      if (!options.advanceClock) throw new InvalidPayloadError('/clock needs the runtime started with --virtual-clock')
      const { advance } = parse('clock', clockBody, await body())
      return { now: new Date(await options.advanceClock(advance)).toISOString() }
    },
  },
]

const STREAMING = Symbol('streaming')

/**
 * The request target's path as segments, each decoded after splitting (so `%2F` stays inside its segment) and never
 * resolved (`.` and `..` are ids like any other), and its query. Undefined segments: a target no route can match.
 */
function target(url: string): { path: string; segments: string[] | undefined; query: URLSearchParams } {
  const mark = url.indexOf('?')
  const path = mark === -1 ? url : url.slice(0, mark)
  const query = new URLSearchParams(mark === -1 ? '' : url.slice(mark + 1))
  if (!path.startsWith('/')) return { path, segments: undefined, query }
  try {
    return { path, segments: path.split('/').map(decodeURIComponent), query }
  } catch {
    return { path, segments: undefined, query }
  }
}

function match(pattern: string[], segments: string[]): Params | undefined {
  if (pattern.length !== segments.length) return undefined
  const params: Params = Object.create(null)
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i]!.startsWith(':')) {
      if (segments[i] === '') return undefined
      params[pattern[i]!.slice(1)] = segments[i]!
    } else if (pattern[i] !== segments[i]) return undefined
  }
  return params
}

/** The request's JSON body, read on demand; `read.whole` is set once every byte is read. */
function readJson(req: IncomingMessage, read: { whole: boolean }): () => Promise<unknown> {
  return () => readJsonBody(req, () => (read.whole = true))
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true
  const given = Buffer.from(req.headers.authorization ?? '')
  const expected = Buffer.from(`Bearer ${token}`)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** Whether the request came with a body (which an early error answer leaves unread). */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) })
  res.end(text)
}

/**
 * The requests in flight on each connection, and whether the face is stopping. While it stops, the last answer on a
 * connection carries `Connection: close` (a request read after it on the same connection gets a 503 that does), and a
 * connection whose last answer is done is ended: one whose headers went out before the stop would stay open.
 */
class Traffic {
  stopping = false
  /** Event streams, ended by a stop. */
  readonly streams = new Set<ServerResponse>()
  private readonly pending = new Map<Socket, number>()

  /** Counts a request until its response closes; returns whether its answer should close the connection. */
  enter(req: IncomingMessage, res: ServerResponse): () => boolean {
    const socket = req.socket
    this.pending.set(socket, (this.pending.get(socket) ?? 0) + 1)
    res.once('close', () => {
      this.streams.delete(res)
      const left = this.pending.get(socket)! - 1
      if (left > 0) return void this.pending.set(socket, left)
      this.pending.delete(socket)
      // After 'finish': the answer is written, ending the connection loses nothing of it.
      if (this.stopping) socket.end()
    })
    // A request read during the stop is answered with a 503 that ends its connection, whatever follows it.
    const lateComer = this.stopping
    return () => lateComer || (this.stopping && this.pending.get(socket) === 1)
  }
}

/** The error a failure answers with: an ApiError as it is, any other error whose code is 503 as Unavailable. */
function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if ((error as { code?: unknown })?.code === 503) return new UnavailableError((error as Error).message ?? 'unavailable', { cause: error })
  return new InternalError('internal error', { cause: error })
}

const compiled = routes.map((route) => ({ route, pattern: route.pattern.split('/') }))

/** The request handler: parse, call the runtime, format. Errors become `{ code, type, message, id }` with status = code. */
export function httpHandler(runtime: Runtime, options: HttpOptions = {}, traffic: Traffic = new Traffic()) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const lastOnConnection = traffic.enter(req, res)
    const read = { whole: false }
    // Taken now: after an unfinished read of the body, req.socket is already null.
    const socket = req.socket
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      send(res, status, body, lastOnConnection() ? { ...headers, connection: 'close' } : headers)
    try {
      // A file URL carries its own credential (see files.ts): whoever holds one needs no bearer token. Nor do the
      // console's static files, which hold no data: the page sends the token with each request it makes (console.ts).
      const fileUrl = isFileUrl(req.url ?? '/')
      const consoleUrl = isConsoleUrl(req.url ?? '/')
      // First of all, before any of the body is read: a client without the token costs no read.
      if (!fileUrl && !consoleUrl && !authorized(req, options.token)) throw new UnauthorizedError('missing or wrong Authorization: Bearer token')
      if (traffic.stopping) throw new UnavailableError('the server is stopping')
      if (fileUrl) return void (await serveFile(runtimeFiles(runtime), req, res))
      if (consoleUrl) return void (await serveConsole(req, res))
      // Botpress's own API under /v1/chat, for the official client and SDK versions that build their own.
      if (await serveBotpressApi({ clientFor: (id) => (runtime.dispatcher.has(id) ? runtime.dispatcher.clientOf(id) : undefined), durable: () => runtime.store.flush(), logger: runtime.logger }, req, res, (req.url ?? '/').split('?')[0]!)) return
      const { path, segments, query } = target(req.url ?? '/')
      let found: { route: Route; params: Params } | undefined
      let pathKnown = false
      for (const { route, pattern } of segments ? compiled : []) {
        const params = match(pattern, segments!)
        if (!params) continue
        pathKnown = true
        if (route.method === req.method) {
          found = { route, params }
          break
        }
      }
      if (!found) throw pathKnown ? new MethodNotFoundError(`${req.method} not allowed on ${path}`) : new ResourceNotFoundError(`no route ${req.method} ${path}`)
      const result = await found.route.run(runtime, options, { params: found.params, query, body: readJson(req, read), req, res })
      if (result === STREAMING) traffic.streams.add(res)
      else if (result instanceof Reply) answer(result.status, result.body, result.headers)
      else answer(200, result)
    } catch (error) {
      const apiError = toApiError(error)
      if (apiError.type === 'Internal') runtime.logger.error('http request failed', { url: req.url, id: apiError.id, error: String((error as Error)?.stack ?? error) })
      if (res.headersSent) return void res.end()
      const headers: Record<string, string> = apiError.code === 503 ? { ...RETRY_AFTER } : {}
      if (hasBody(req) && !read.whole) {
        // Refused before its body was read (no token, too large, unknown bot): answer, then drop the connection and
        // the rest of the upload rather than read it only to throw it away.
        headers.connection = 'close'
        res.on('finish', () => socket?.destroy())
      }
      answer(apiError.code, apiError.toJSON(), headers)
    }
  }
}

/** Starts the HTTP simulator; resolves once it listens. */
export async function startHttp(runtime: Runtime, listen: { host: string; port: number }, options: HttpOptions = {}): Promise<HttpFace> {
  const traffic = new Traffic()
  // The interval at which node enforces the headers and request timeouts, in ms.
  const server = createServer({ connectionsCheckingInterval: 1_000 }, httpHandler(runtime, options, traffic))
  server.maxConnections = options.maxConnections ?? MAX_CONNECTIONS
  server.keepAliveTimeout = TIMEOUTS_MS.keepAlive
  server.headersTimeout = TIMEOUTS_MS.headers
  server.requestTimeout = TIMEOUTS_MS.request
  // Requests node's own parser refuses (a malformed request line, a lying content-length) get our error shape too.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy()
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW'
    const refused = new InvalidPayloadError(tooLarge ? 'request headers too large' : `bad request: ${error.code ?? error.message}`).toJSON()
    const body = JSON.stringify(tooLarge ? { ...refused, code: 431 } : refused)
    socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen.port, listen.host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  // The file URLs bots are given from now on point here.
  runtime.dispatcher.fileLinks.origin = `http://${host}:${address.port}`
  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      traffic.stopping = true
      // Its callback runs once the last connection has closed.
      server.close(() => resolve())
      server.closeIdleConnections()
      // Ended after: a stream's connection is closed once its end is written, by Traffic, not cut under it.
      for (const stream of traffic.streams) stream.end()
    }))
  return { server, url: `http://${host}:${address.port}`, stop }
}
