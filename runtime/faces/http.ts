import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { ApiError, InternalError, InvalidPayloadError, MethodNotFoundError, PayloadTooLargeError, ResourceNotFoundError, UnauthorizedError, type Message } from '../client/index.ts'
import { idSchema } from '../client/common.ts'
import type { Runtime } from '../runtime.ts'

/** The largest request body, in bytes. */
export const MAX_BODY_BYTES = 1024 * 1024

/** What the HTTP face needs beyond the runtime. */
export type HttpOptions = {
  token?: string
  /** Moves the virtual clock; absent when the real clock runs. */
  advanceClock?: (seconds: number) => Promise<number>
}

type Params = Record<string, string>
type Request = { params: Params; query: URLSearchParams; body: () => Promise<unknown>; req: IncomingMessage; res: ServerResponse }
type Route = { method: string; pattern: string; run: (runtime: Runtime, options: HttpOptions, request: Request) => Promise<unknown> }

const textPayload = z.record(z.string(), z.unknown())

const messageBody = z
  .object({
    userId: idSchema,
    conversationId: idSchema.optional(),
    type: z.string().min(1).max(200).optional(),
    payload: textPayload.optional(),
    text: z.string().max(128 * 1024).optional(),
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

function parse<S extends z.ZodType>(what: string, schema: S, value: unknown): z.output<S> {
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
    run: async (runtime) => ({ status: 'ok', bots: runtime.dispatcher.botIds() }),
  },
  {
    method: 'POST',
    pattern: '/bots/:botId/messages',
    run: async (runtime, _options, { params, body }) => {
      requireBot(runtime, params.botId!)
      const input = parse('message', messageBody, await body())
      const payload = input.payload ?? { text: input.text }
      return runtime.dispatcher.sendMessage(params.botId!, { ...input, payload })
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
    run: async (runtime, _options, { params, req, res }) => {
      requireBot(runtime, params.botId!)
      await runtime.dispatcher.clientOf(params.botId!).getConversation({ id: params.id! })
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
      res.write(': stream of new messages\n\n')
      // The user's messages and the bot's replies alike.
      const onMessage = ({ botId, message }: { botId: string; message: Message }) => {
        if (botId === params.botId && message.conversationId === params.id) res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`)
      }
      runtime.bus.on('reply', onMessage)
      runtime.bus.on('incoming', onMessage)
      req.on('close', () => {
        runtime.bus.off('reply', onMessage)
        runtime.bus.off('incoming', onMessage)
      })
      return STREAMING
    },
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

function match(pattern: string, path: string): Params | undefined {
  const want = pattern.split('/')
  const got = path.split('/')
  if (want.length !== got.length) return undefined
  const params: Params = Object.create(null)
  for (let i = 0; i < want.length; i++) {
    if (want[i]!.startsWith(':')) {
      let value: string
      try {
        value = decodeURIComponent(got[i]!)
      } catch {
        return undefined
      }
      if (value === '') return undefined
      params[want[i]!.slice(1)] = value
    } else if (want[i] !== got[i]) return undefined
  }
  return params
}

/** Reads a JSON body, refusing more than MAX_BODY_BYTES before reading it whole. */
function readJson(req: IncomingMessage): () => Promise<unknown> {
  return async () => {
    const declared = Number(req.headers['content-length'])
    if (declared > MAX_BODY_BYTES) throw new PayloadTooLargeError(`body of ${declared} bytes, over the limit of ${MAX_BODY_BYTES}`)
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(`body over the limit of ${MAX_BODY_BYTES} bytes`)
      chunks.push(chunk)
    }
    const text = Buffer.concat(chunks).toString('utf8')
    if (text.trim() === '') return {}
    try {
      return JSON.parse(text)
    } catch (error) {
      throw new InvalidPayloadError(`body is not JSON: ${(error as Error).message}`)
    }
  }
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true
  const given = Buffer.from(req.headers.authorization ?? '')
  const expected = Buffer.from(`Bearer ${token}`)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** The request handler: parse, call the runtime, format. Errors become `{ code, type, message }` with status = code. */
export function httpHandler(runtime: Runtime, options: HttpOptions = {}) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (!authorized(req, options.token)) throw new UnauthorizedError('missing or wrong Authorization: Bearer token')
      const url = new URL(req.url ?? '/', 'http://localhost')
      let found: { route: Route; params: Params } | undefined
      let pathKnown = false
      for (const route of routes) {
        const params = match(route.pattern, url.pathname)
        if (!params) continue
        pathKnown = true
        if (route.method === req.method) {
          found = { route, params }
          break
        }
      }
      if (!found) throw pathKnown ? new MethodNotFoundError(`${req.method} not allowed on ${url.pathname}`) : new ResourceNotFoundError(`no route ${req.method} ${url.pathname}`)
      const result = await found.route.run(runtime, options, { params: found.params, query: url.searchParams, body: readJson(req), req, res })
      if (result !== STREAMING) send(res, 200, result)
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new InternalError('internal error', { cause: error })
      if (!(error instanceof ApiError)) runtime.logger.error('http request failed', { url: req.url, error: String((error as Error)?.stack ?? error) })
      if (res.headersSent) return void res.end()
      if (apiError.type === 'PayloadTooLarge') {
        // An oversize body is refused without reading it: answer, then drop the connection and the rest of the upload.
        // Take the socket now: after an unfinished read of the body, req.socket is already null.
        const socket = res.socket
        res.setHeader('connection', 'close')
        res.on('finish', () => socket?.destroy())
      }
      const { code, type, message } = apiError
      send(res, code, { code, type, message })
    }
  }
}

/** Starts the HTTP simulator; resolves once it listens. */
export async function startHttp(runtime: Runtime, listen: { host: string; port: number }, options: HttpOptions = {}): Promise<{ server: Server; url: string }> {
  const server = createServer(httpHandler(runtime, options))
  server.keepAliveTimeout = 5000
  // Requests node's own parser refuses (a malformed request line, a lying content-length) get our error shape too.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy()
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW'
    const body = JSON.stringify(tooLarge ? { code: 431, type: 'InvalidPayload', message: 'request headers too large' } : { code: 400, type: 'InvalidPayload', message: `bad request: ${error.code ?? error.message}` })
    socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen.port, listen.host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return { server, url: `http://${host}:${address.port}` }
}
