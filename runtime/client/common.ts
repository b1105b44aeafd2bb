import { z } from 'zod'
import { key, type Range } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import type { Clock } from '../time/clock.ts'
import { InvalidPayloadError, PayloadTooLargeError } from './errors.ts'
import type { IdGenerator } from './ids.ts'

/** The four state scopes. */
export const stateTypes = ['conversation', 'user', 'bot', 'workflow'] as const
/** One of the four state scopes. */
export type StateType = (typeof stateTypes)[number]

/** What the client needs to know of a state declared in the bot's definition. */
export type StateDefinition = { type: StateType; schema?: z.ZodType; expiry?: number }

/** The schema of a definition's table: Botpress's zui (zod 3 style), read structurally. */
export type RowSchema = {
  safeParse(value: unknown): { success: true; data: unknown } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } }
  toJSONSchema?: () => unknown
}

/** What the client needs to know of a table declared in the bot's definition. */
export type TableDefinition = { schema: RowSchema; keyColumn?: string | null; factor?: number; frozen?: boolean; tags?: Record<string, string> }

/** The origin (`http://HOST:PORT`) that file URLs name: set by the HTTP face once it listens. */
export type FileLinks = { origin?: string }

/**
 * The unit of a state's `expiry`, in calls, in answers and in the definition: seconds as the reference page
 * says, or milliseconds as Botpress Cloud (a bot that is a Botpress project). Stored records keep seconds.
 */
export type ExpiryUnit = 'seconds' | 'ms'

/** Where a client call reports what it does not store (trackAnalytics). */
export type ClientLogger = { info(message: string, fields?: Record<string, unknown>): void }

/** Everything a client call works with. */
export type ClientContext = {
  store: Store
  botId: string
  clock: Clock
  ids: IdGenerator
  /** The definition's `states` map; undeclared names take any JSON object. */
  states: Record<string, StateDefinition>
  expiryUnit: ExpiryUnit
  logger?: ClientLogger
  /** The definition's tables (with its plugins'), by name; getOrCreateTable adds stored ones. */
  tables: Record<string, TableDefinition>
  /** Where file content is served over HTTP, shared by every bot's context; no origin without an HTTP face. */
  files: FileLinks
  /**
   * Told of states that had expired (but the time keeper had not taken yet) when a write replaced or
   * deleted them: they were moved aside in the same batch, and their stateExpired handlers are owed.
   */
  expired?: (states: import('./states.ts').BotpressState[]) => void
  /** Runs or answers an action call (`callAction`): set by the dispatcher, which knows the bot. */
  callAction?: (type: string, input: Record<string, unknown>) => Promise<unknown>
}

/** The largest payload of a state or message, in bytes of JSON. */
export const MAX_PAYLOAD_BYTES = 128 * 1024

/** Tags as stored: only string values. */
export type Tags = Record<string, string>

const printable = /^[^\u0000-\u001f\u007f]+$/

/** An id: 1..200 printable characters. */
export const idSchema = z.string().min(1).max(200).regex(printable, 'must be printable characters')

/** zod's records drop a `__proto__` key without a word; refuse it instead, so that no tag is lost silently. */
function withoutProtoKey<T>() {
  return z.custom<T>((value) => !(typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')), {
    message: 'a tag cannot be named __proto__',
  })
}

/** Tags given to a create call. */
export const tagsSchema = withoutProtoKey<Record<string, string>>().pipe(z.record(z.string().min(1).max(200), z.string().max(1000)))

/** Tags given to an update call: `null` or `''` removes a tag. */
export const tagsPatchSchema = withoutProtoKey<Record<string, string | null>>().pipe(
  z.record(z.string().min(1).max(200), z.string().max(1000).nullable()),
)

/** A page request: `limit` (localbot's, as the reference page) or Botpress's `pageSize`, the same thing. */
export const pageSchema = {
  limit: z.number().int().min(1).max(100).optional(),
  pageSize: z.number().int().min(1).max(100).optional(),
  nextToken: z.string().max(4096).optional(),
}

/** The metadata of a list page: `nextToken` absent on the last page. */
export function pageMeta(nextToken: string | undefined): { nextToken?: string } {
  return nextToken === undefined ? {} : { nextToken }
}

/** Parses the input of `call`, raising InvalidPayload naming the first bad field. */
export function parseInput<S extends z.ZodType>(call: string, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {})
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  const field = issue.path.length > 0 ? issue.path.join('.') : 'input'
  throw new InvalidPayloadError(`${call}: ${field}: ${issue.message}`)
}

/** An HTTP method of Botpress's API. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/**
 * One operation of the API: its Botpress route (method and path, `{name}` a path parameter, as
 * @botpress/client 1.45's generated code has it; none for localbot's own calls), its input schema, and
 * what it does with the parsed input. The in-process client and the HTTP transport both read it.
 */
export type Operation<S extends z.ZodType = z.ZodType, R = unknown> = {
  route?: { method: HttpMethod; path: `/v1/${string}` }
  input: S
  run: (ctx: ClientContext, input: z.output<S>) => Promise<R>
}

/** Declares an operation, inferring its input and output types. */
export function operation<S extends z.ZodType, R>(op: Operation<S, R>): Operation<S, R> {
  return op
}

/** Text cut to `max` characters, an ellipsis marking the cut. */
export function cutText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** A schema's complaints in one line (`count: Required; inStock: Expected boolean, received string`); `whole` names the value itself. */
export function schemaIssues(error: { issues?: { path: (string | number)[]; message: string }[] } | undefined, whole: string): string {
  return (error?.issues ?? []).map((issue) => `${issue.path.join('.') || whole}: ${issue.message}`).join('; ') || 'invalid'
}

/**
 * Turns a payload into plain JSON (a Date becomes its ISO string, as over HTTP) and checks its size.
 * Raises InvalidPayload for what JSON cannot hold and PayloadTooLarge past 128 KiB.
 */
export function jsonPayload(call: string, field: string, value: unknown): { payload: Record<string, unknown>; json: string } {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (error) {
    throw new InvalidPayloadError(`${call}: ${field}: not JSON (${(error as Error).message})`)
  }
  if (json === undefined || json[0] !== '{') throw new InvalidPayloadError(`${call}: ${field}: must be a JSON object`)
  // A UTF-16 unit is at most 3 bytes of UTF-8: most payloads are known to fit without counting them.
  const bytes = json.length * 3 <= MAX_PAYLOAD_BYTES ? undefined : Buffer.byteLength(json)
  if (bytes !== undefined && bytes > MAX_PAYLOAD_BYTES)
    throw new PayloadTooLargeError(`${call}: ${field}: ${bytes} bytes, over the limit of ${MAX_PAYLOAD_BYTES}`)
  return { payload: JSON.parse(json) as Record<string, unknown>, json }
}

/** Applies an update's tags to stored ones: a `null` or `''` value removes the tag. */
export function mergeTags(current: Tags, patch: Record<string, string | null> | undefined): Tags {
  if (!patch) return current
  const entries = new Map(Object.entries(current))
  for (const [name, value] of Object.entries(patch)) {
    if (value === null || value === '') entries.delete(name)
    else entries.set(name, value)
  }
  return Object.fromEntries(entries)
}

/** Tags of a create call, with empty (and, for get-or-create, `null`) values dropped. */
export function cleanTags(tags: Record<string, string | null> | undefined): Tags {
  return mergeTags({}, tags)
}

/** The tags a get-or-create matches on: those named by `discriminateByTags`, or all of them. */
export function discriminatingTags(tags: Tags, discriminateByTags: string[] | undefined): Tags {
  const names = discriminateByTags ?? Object.keys(tags)
  return Object.fromEntries(names.filter((n) => Object.hasOwn(tags, n)).map((n) => [n, tags[n]!]))
}

/** Whether `tags` holds every pair of `filter`. */
export function tagsMatch(tags: Tags, filter: Tags | undefined): boolean {
  if (!filter) return true
  for (const [name, value] of Object.entries(filter)) if (!Object.hasOwn(tags, name) || tags[name] !== value) return false
  return true
}

/** Where a get-or-create looks records up by tag: a tag's index range, oldest first, and how to load what it names. */
export type TagIndex<T> = {
  rangeOf: (name: string, value: string) => Range
  load: (indexKeys: string[]) => Promise<(T | undefined)[]>
  /** What a record must also be, besides carrying the tags. */
  accept?: (record: T) => boolean
}

/** Records loaded at once while a look-up by tags walks an index. */
const LOOKUP_CHUNK = 100

/**
 * The oldest record carrying every one of `tags`; undefined when there is none or `tags` is empty. For
 * get-or-create, under the bot's lock: it reads the index of the rarest tag to its end if need be, since a
 * look-up that gave up early (as a list page does, past its scan budget) would create a duplicate.
 */
export async function findOldestByTags<T extends { tags: Tags }>(ctx: ClientContext, tags: Tags, index: TagIndex<T>): Promise<T | undefined> {
  const ranges = Object.entries(tags).map(([name, value]) => index.rangeOf(name, value))
  if (ranges.length === 0) return undefined
  let chunk: string[] = []
  const found = async () => {
    const records = await index.load(chunk)
    chunk = []
    return records.find((record) => record !== undefined && tagsMatch(record.tags, tags) && (index.accept?.(record) ?? true))
  }
  for await (const indexKey of ctx.store.iterateKeys(await shortest(ctx.store, ranges), { first: LOOKUP_CHUNK })) {
    chunk.push(indexKey)
    if (chunk.length < LOOKUP_CHUNK) continue
    const record = await found()
    if (record) return record
  }
  return chunk.length > 0 ? found() : undefined
}

/**
 * The get-or-create of every resource: the record with `id` when one is given, else the oldest carrying the
 * discriminating tags (`discriminateByTags`, or all the given tags), else a new one made by `create`.
 */
export async function getOrCreate<T extends { tags: Tags }>(
  ctx: ClientContext,
  spec: {
    byId?: { target: LockTarget; find: () => Promise<T | undefined> }
    tags: Tags
    discriminateByTags: string[] | undefined
    index: TagIndex<T>
    create: () => Promise<T>
  },
): Promise<{ record: T; created: boolean }> {
  const find = spec.byId?.find ?? (() => findOldestByTags(ctx, discriminatingTags(spec.tags, spec.discriminateByTags), spec.index))
  const run = async () => {
    const existing = await find()
    return existing ? { record: existing, created: false } : { record: await spec.create(), created: true }
  }
  // Found by id, one record is at stake; found by tags, any of them could be.
  return spec.byId ? withLocks(ctx, [spec.byId.target], run) : withBotLock(ctx, run)
}

/** The range with the fewest keys, found by counting them all side by side until one ends. */
async function shortest(store: Store, ranges: Range[]): Promise<Range> {
  if (ranges.length === 1) return ranges[0]!
  const walks = ranges.map((range) => store.iterateKeys(range))
  try {
    for (;;) {
      const steps = await Promise.all(walks.map((walk) => walk.next()))
      const ended = steps.findIndex((step) => step.done)
      if (ended !== -1) return ranges[ended]!
    }
  } finally {
    await Promise.all(walks.map((walk) => walk.return(undefined)))
  }
}

/** The clock's time as an ISO string. */
export function nowIso(ctx: ClientContext): string {
  const now = ctx.clock.now()
  // A message's turn asks for the time a dozen times within the same millisecond.
  if (now !== lastIso.at) {
    lastIso.at = now
    lastIso.iso = new Date(now).toISOString()
  }
  return lastIso.iso
}
const lastIso = { at: Number.NaN, iso: '' }

/**
 * What a write locks besides its bot: a conversation, a user, a message, an event, a workflow, a file (by its
 * key), a table (by its name), or a state owner.
 */
export type LockTarget = ['c' | 'u' | 'm' | 'e' | 'w' | 'f' | 't', string] | ['s', string, string]

/**
 * Runs a read-check-write sequence of one bot: the bot's lock shared, the records it touches alone.
 * Writes of different conversations and users overlap; writes of one record take turns.
 */
export function withLocks<T>(ctx: ClientContext, targets: (LockTarget | undefined)[], fn: () => Promise<T>): Promise<T> {
  const exclusive = targets.filter((t): t is LockTarget => t !== undefined).map((t) => key('lock', ctx.botId, ...t))
  return ctx.store.hold({ shared: [key('lock', ctx.botId)], exclusive }, fn)
}

/** Runs work that touches many of a bot's records (cascades, look-ups by tags) with the bot to itself. */
export function withBotLock<T>(ctx: ClientContext, fn: () => Promise<T>): Promise<T> {
  return ctx.store.hold({ exclusive: [key('lock', ctx.botId)] }, fn)
}
