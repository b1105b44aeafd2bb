import type { IncomingMessage, ServerResponse } from 'node:http'
import type { z } from 'zod'
import {
  ApiError,
  InternalError,
  InvalidPayloadError,
  MethodNotFoundError,
  operations,
  ResourceNotFoundError,
  type Client,
  type Operation,
} from '../client/index.ts'
import { readJsonBody } from './body.ts'

/**
 * Botpress's runtime API over HTTP (`/v1/chat/...`, the bot named by `x-bot-id`), as @botpress/client 1.45
 * calls it: every operation of the client's table that has a Botpress route, with its input split as the
 * client splits it (path parameters, query, JSON body) and put back together into the one flat input the
 * in-process client takes. Answers are the call's output as JSON; errors are `{ id, code, type, message }`
 * with status = code (the official client classifies an error only when its body has an `id`).
 */

/** What the API serves from: each bot's client (undefined for an unknown bot), and where failures are logged. */
export type BotpressApiHost = {
  clientFor: (botId: string) => Client | undefined
  /** Resolves once what the call wrote is in the database; called before a writing call is answered (none for a bot's own calls within its turn, which flushes as it ends). */
  durable?: () => Promise<void>
  logger?: { error(message: string, fields?: Record<string, unknown>): void }
}

type Route = { name: keyof Client; method: string; segments: string[]; op: Operation }

/** The routes of every operation that Botpress has one for. */
export const routes: Route[] = Object.entries(operations).flatMap(([name, op]) => {
  const route = (op as Operation).route
  return route ? [{ name: name as keyof Client, method: route.method, segments: route.path.split('/'), op: op as Operation }] : []
})

/**
 * The route of a request and its path parameters, each segment decoded on its own (`%2F` stays inside its
 * segment, `..` is an id like any other). No two of Botpress's routes of one method match the same path
 * (`POST conversations/get-or-create`, `PUT conversations/{id}`).
 */
function match(method: string, path: string): { route: Route; params: Record<string, string> } {
  const got = path.split('/')
  let pathKnown = false
  for (const route of routes) {
    if (route.segments.length !== got.length) continue
    const params: Record<string, string> = Object.create(null)
    const fits = route.segments.every((want, i) => {
      if (!want.startsWith('{')) return want === got[i]
      const value = decodeSegment(got[i]!)
      if (value === undefined || value === '') return false
      params[want.slice(1, -1)] = value
      return true
    })
    if (!fits) continue
    pathKnown = true
    if (route.method === method) return { route, params }
  }
  throw pathKnown ? new MethodNotFoundError(`${method} not allowed on ${path}`) : new ResourceNotFoundError(`no route ${method} ${path}`)
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** What a query value turns into, read from the operation's schema: the query itself is text only. */
type Kind = 'text' | 'number' | 'boolean' | 'list' | 'map'

function kindOf(schema: z.ZodType | undefined): Kind {
  const def = (schema as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def
  if (!def) return 'text'
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
      return kindOf(def.innerType as z.ZodType)
    case 'pipe':
      return kindOf(def.out as z.ZodType)
    case 'number':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'array':
      return 'list'
    case 'record':
    case 'object':
      return 'map'
    default:
      return 'text'
  }
}

const coerce: Record<Kind, (text: string) => unknown> = {
  text: (text) => text,
  list: (text) => text,
  map: (text) => text,
  // A value that is not a number stays text, for the schema to name it.
  number: (text) => (text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text),
  boolean: (text) => (text === 'true' ? true : text === 'false' ? false : text),
}

/**
 * A query as @botpress/client encodes it (qs with `allowDots` and `arrayFormat: 'repeat'`): `tags.foo=bar` is
 * `{ tags: { foo: 'bar' } }`, a repeated key (or a single one of a list field) is a list, numbers are coerced.
 */
function parseQuery(search: string, schema: z.ZodType): Record<string, unknown> {
  const shape = (schema as { shape?: Record<string, z.ZodType> }).shape ?? {}
  const kindOfField = (field: string) => (Object.hasOwn(shape, field) ? kindOf(shape[field]) : 'text')
  const input: Record<string, unknown> = Object.create(null)
  for (const [name, value] of new URLSearchParams(search)) {
    const dot = name.indexOf('.')
    const field = name.slice(0, dot)
    if (dot !== -1 && kindOfField(field) === 'map') {
      const map = (input[field] ??= Object.create(null)) as Record<string, unknown>
      if (typeof map === 'object') map[name.slice(dot + 1)] = value
      continue
    }
    const kind = kindOfField(name)
    if (kind !== 'list') input[name] = coerce[kind](value)
    else if (Array.isArray((input[name] ??= []))) (input[name] as unknown[]).push(value)
  }
  // Plain objects for zod: the null prototype kept `__proto__` an ordinary key while parsing.
  return JSON.parse(JSON.stringify(input)) as Record<string, unknown>
}

/** Reads a JSON object body, refusing more than MAX_BODY_BYTES before reading it whole. */
async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readJsonBody(req)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidPayloadError('body: must be a JSON object')
  return body as Record<string, unknown>
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Serves one request of Botpress's API when `rawPath` (the request's path as sent, before any
 * normalisation) is under `/v1/`; resolves false, having touched nothing, for any other path.
 */
export async function serveBotpressApi(host: BotpressApiHost, req: IncomingMessage, res: ServerResponse, rawPath: string): Promise<boolean> {
  if (!rawPath.startsWith('/v1/')) return false
  try {
    const method = req.method ?? 'GET'
    const { route, params } = match(method, rawPath)
    const botId = req.headers['x-bot-id']
    if (typeof botId !== 'string' || botId === '') throw new InvalidPayloadError('the x-bot-id header names no bot')
    const client = host.clientFor(botId)
    if (!client) throw new ResourceNotFoundError(`bot ${JSON.stringify(botId)} not found`)
    const url = req.url ?? ''
    const query = url.includes('?') ? parseQuery(url.slice(url.indexOf('?') + 1), route.op.input) : {}
    const body = BODY_METHODS.has(method) ? await readBody(req) : {}
    const call = client[route.name] as (input: unknown) => Promise<unknown>
    const answer = await call({ ...query, ...body, ...params })
    if (BODY_METHODS.has(method)) await host.durable?.()
    send(res, 200, answer)
  } catch (error) {
    const apiError = error instanceof ApiError ? error : new InternalError('internal error', { cause: error })
    if (!(error instanceof ApiError)) host.logger?.error('botpress api request failed', { url: req.url, error: String((error as Error)?.stack ?? error) })
    if (res.headersSent) {
      res.end()
      return true
    }
    if (apiError.type === 'PayloadTooLarge') {
      // An oversize body is refused without reading it: answer, then drop the connection and the rest of the upload.
      const socket = res.socket
      res.setHeader('connection', 'close')
      res.on('finish', () => socket?.destroy())
    }
    send(res, apiError.code, apiError.toJSON())
  }
  return true
}
