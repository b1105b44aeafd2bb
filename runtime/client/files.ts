import { randomBytes, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import * as layout from '../store/layout.ts'
import { intSegment, timeSegment } from '../store/keys.ts'
import type { Op } from '../store/store.ts'
import {
  idSchema,
  jsonPayload,
  mergeTags,
  nowIso,
  operation,
  pageMeta,
  pageSchema,
  tagsMatch,
  tagsPatchSchema,
  tagsSchema,
  withLocks,
  type ClientContext,
  type Tags,
} from './common.ts'
import { InvalidPayloadError, PayloadTooLargeError, ResourceNotFoundError } from './errors.ts'
import { dels, keep, putJson, reindex } from './indexing.ts'
import { lastSegment, readPage } from './paging.ts'

/**
 * Botpress's Files API over the store. A file's record, its index entries and its content live in the store,
 * the content in chunks of base64 text next to the record, and every write of a file (its upsert, its upload,
 * its deletion) is one batch: LevelDB applies a batch whole or not at all, also across a crash, so a record
 * never names content that is not there, content never outlives its record, and a crash mid-upload leaves the
 * file as it was before the upload. Keeping the bytes in the store rather than in files beside it buys exactly
 * that without a second commit protocol, and works on memory-level too (the test harness); the price is a
 * bound on a file's size (MAX_FILE_BYTES), far below Botpress Cloud's 1 GB.
 *
 * Content is read and written over HTTP at the file's `url` and `uploadUrl` (runtime/faces/files.ts), each
 * carrying a random token of its own as Botpress's pre-signed URLs carry a signature: whoever holds the URL
 * may use it, nobody else finds the file. In-process, `uploadFile` takes the content directly.
 */

/** The largest file, in bytes. */
export const MAX_FILE_BYTES = 32 * 1024 * 1024
/** Bytes of content per stored chunk (a quarter MiB of base64 each). */
const CHUNK_BYTES = 192 * 1024
/** Botpress's limit on `expiresAt`: at most 90 days ahead. */
const MAX_EXPIRY_MS = 90 * 24 * 3600 * 1000

/** Where a file is in its life, as Botpress names it. */
export type FileStatus = 'upload_pending' | 'upload_failed' | 'upload_completed' | 'indexing_pending' | 'indexing_failed' | 'indexing_completed'

type AccessPolicy = 'integrations' | 'public_content'

/** A file as stored: Botpress's fields that do not depend on who asks, and the tokens of its URLs. */
type StoredFile = {
  id: string
  key: string
  size: number | null
  contentType: string
  tags: Tags
  metadata: Record<string, unknown>
  createdAt: string
  updatedAt: string
  accessPolicies: AccessPolicy[]
  index: boolean
  status: FileStatus
  expiresAt?: string
  /** Chunks of content stored: 0 until uploaded. */
  chunks: number
  /** The token of the file's `url` (kept across upserts of its key). */
  readToken: string
  /** The token of its `uploadUrl` (new at each upsert). */
  uploadToken: string
}

/** A file, as Botpress's client returns it. */
export type BotpressFile = Omit<StoredFile, 'chunks' | 'readToken' | 'uploadToken'> & {
  botId: string
  url: string
  owner: { type: 'bot'; id: string }
}

const accessPolicies = z.array(z.enum(['integrations', 'public_content'])).max(2)
const expiresAtSchema = z.iso.datetime({ offset: true })
/** A file key: any printable text (a path, a URL, an id), unique per bot. */
const fileKeySchema = z.string().min(1).max(1024).regex(/^[^\u0000-\u001f\u007f]+$/, 'must be printable characters')

const upsertFields = {
  key: fileKeySchema,
  tags: tagsSchema.optional(),
  index: z.boolean().optional(),
  indexing: z.unknown().optional(),
  accessPolicies: accessPolicies.optional(),
  contentType: z.string().min(1).max(200).optional(),
  expiresAt: expiresAtSchema.optional(),
  publicContentImmediatelyAccessible: z.boolean().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
}

const upsertSchema = z.object({ ...upsertFields, size: z.number().int().min(0) })

/** What `uploadFile` takes as content: what @botpress/client's helper takes. */
type Content = string | ArrayBuffer | ArrayBufferView | Blob
const contentSchema = z.custom<Content>(
  (value) => typeof value === 'string' || ArrayBuffer.isView(value) || value instanceof ArrayBuffer || (typeof Blob !== 'undefined' && value instanceof Blob),
  { message: 'must be a string, a Buffer, a Uint8Array, an ArrayBuffer or a Blob' },
)

const uploadSchema = z
  .object({ ...upsertFields, content: contentSchema.optional(), url: z.string().url().optional() })
  .refine((input) => (input.content === undefined) !== (input.url === undefined), { message: 'give content or url, one of them', path: ['content'] })

const updateSchema = z.object({
  id: idSchema,
  metadata: z.record(z.string(), z.unknown()).optional(),
  tags: tagsPatchSchema.optional(),
  accessPolicies: accessPolicies.optional(),
  expiresAt: expiresAtSchema.nullable().optional(),
})

const listSchema = z.object({
  ...pageSchema,
  sortField: z.enum(layout.fileSortFields).optional(),
  sortDirection: z.enum(['asc', 'desc']).optional(),
  tags: tagsSchema.optional(),
  ids: z.array(idSchema).max(50).optional(),
  indexed: z.boolean().optional(),
})

const idOnly = z.object({ id: idSchema })

/** Content types by file extension, for a file whose upsert names none (Botpress infers it from the key). */
const contentTypes = new Map(
  Object.entries({
    txt: 'text/plain', md: 'text/markdown', csv: 'text/csv', html: 'text/html', htm: 'text/html', css: 'text/css', js: 'text/javascript',
    json: 'application/json', xml: 'application/xml', pdf: 'application/pdf', zip: 'application/zip',
    doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml',
    mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg', mp4: 'video/mp4', webm: 'video/webm',
  }),
)

function contentTypeOf(key: string, given: string | undefined): string {
  if (given !== undefined) return given
  const extension = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase()
  return (extension && contentTypes.get(extension)) || 'application/octet-stream'
}

/** Whether a file is still there at `now`: a file past its `expiresAt` is gone for every read. */
function isLive(file: StoredFile, now: number): boolean {
  return file.expiresAt === undefined || Date.parse(file.expiresAt) > now
}

/** The value a file has in the index of a sort field. */
function sortValue(file: StoredFile, field: layout.FileSortField): string {
  if (field === 'key' || field === 'status') return file[field]
  if (field === 'size') return intSegment(file.size ?? 0, 'size')
  return timeSegment(Date.parse(file[field]))
}

/** Every index entry of a file: one per sort field, one per tag. */
function fileIndex(botId: string, file: StoredFile): string[] {
  const at = Date.parse(file.createdAt)
  return [
    ...layout.fileSortFields.map((field) => layout.files.bySort(botId, field, sortValue(file, field), file.id)),
    ...Object.entries(file.tags).map(([name, value]) => layout.files.byTag(botId, name, value, at, file.id)),
  ]
}

function chunkKeys(botId: string, id: string, from: number, to: number): string[] {
  const keys: string[] = []
  for (let i = from; i < to; i++) keys.push(layout.files.chunk(botId, id, i))
  return keys
}

/**
 * The one batch that takes a file from `before` to `after` (either may be absent): its record, its index entries,
 * and its content, `content` when given, else kept when the file stays itself with content, else deleted.
 */
function fileWriteOps(botId: string, before: StoredFile | undefined, after: StoredFile | undefined, content?: Buffer): Op[] {
  const ops: Op[] = []
  if (before && before.id !== after?.id) ops.push({ type: 'del', key: layout.files.record(botId, before.id) })
  if (after) ops.push(putJson(layout.files.record(botId, after.id), after))
  ops.push(...reindex(before ? fileIndex(botId, before) : [], after ? fileIndex(botId, after) : []))
  const same = before !== undefined && before.id === after?.id
  if (content !== undefined && after) {
    for (let i = 0; i < after.chunks; i++)
      ops.push({ type: 'put', key: layout.files.chunk(botId, after.id, i), value: content.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES).toString('base64') })
    if (before) ops.push(...dels(chunkKeys(botId, before.id, same ? after.chunks : 0, before.chunks)))
  } else if (before && !(same && after.chunks === before.chunks)) ops.push(...dels(chunkKeys(botId, before.id, 0, before.chunks)))
  return ops
}

/** A file's URL, or its upload URL: the HTTP face's origin, else `localbot:` (nothing serves it). */
function fileUrl(ctx: ClientContext, file: StoredFile, kind: 'read' | 'upload'): string {
  const query = kind === 'read' ? `t=${file.readToken}` : `upload=${file.uploadToken}`
  return `${ctx.files.origin ?? 'localbot:'}/files/${encodeURIComponent(ctx.botId)}/${encodeURIComponent(file.id)}?${query}`
}

/** A stored file in Botpress's shape, for this bot. */
function botpressFile(ctx: ClientContext, file: StoredFile): BotpressFile {
  const { chunks: _chunks, readToken: _read, uploadToken: _upload, ...fields } = file
  return { ...fields, botId: ctx.botId, url: fileUrl(ctx, file, 'read'), owner: { type: 'bot', id: ctx.botId } }
}

const token = () => randomBytes(16).toString('hex')

/** Whether `given` is the token `expected`, in time that does not tell how much of it matched. */
function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Raises InvalidPayload for an `expiresAt` not in the next 90 days. */
function checkExpiry(ctx: ClientContext, call: string, expiresAt: string | null | undefined): string | undefined {
  if (expiresAt === undefined || expiresAt === null) return undefined
  const at = Date.parse(expiresAt)
  const now = ctx.clock.now()
  if (at <= now || at > now + MAX_EXPIRY_MS) throw new InvalidPayloadError(`${call}: expiresAt: must be in the future and at most 90 days from now`)
  return new Date(at).toISOString()
}

function checkSize(call: string, size: number): void {
  if (size > MAX_FILE_BYTES) throw new PayloadTooLargeError(`${call}: a file of ${size} bytes, over localbot's limit of ${MAX_FILE_BYTES}`)
}

function notFound(id: string) {
  return new ResourceNotFoundError(`file ${JSON.stringify(id)} not found`)
}

/** The file of `id` if it is there and live. */
async function liveFile(ctx: ClientContext, id: string): Promise<StoredFile | undefined> {
  const file = await ctx.store.getJson<StoredFile>(layout.files.record(ctx.botId, id))
  return file && isLive(file, ctx.clock.now()) ? file : undefined
}

async function requireFile(ctx: ClientContext, id: string): Promise<StoredFile> {
  const file = await liveFile(ctx, id)
  if (!file) throw notFound(id)
  return file
}

/** Runs a write of the file with `key`, given the file stored under it (live or not), under the key's lock. */
function withKey<T>(ctx: ClientContext, key: string, fn: (stored: StoredFile | undefined) => Promise<T>): Promise<T> {
  return withLocks(ctx, [['f', key]], async () => {
    const [indexKey] = await ctx.store.keys(layout.files.ofSortValueRange(ctx.botId, 'key', key))
    return fn(indexKey === undefined ? undefined : await ctx.store.getJson<StoredFile>(layout.files.record(ctx.botId, lastSegment(indexKey))))
  })
}

/** Runs a write of the live file `id` under its key's lock; ResourceNotFound when it is not there. */
async function withFile<T>(ctx: ClientContext, id: string, fn: (file: StoredFile) => Promise<T>): Promise<T> {
  const { key } = await requireFile(ctx, id)
  // A file's key never changes: under the lock it is the same file, unless it was deleted meanwhile.
  return withLocks(ctx, [['f', key]], async () => fn(await requireFile(ctx, id)))
}

type UpsertInput = z.output<z.ZodObject<typeof upsertFields>>

/**
 * The record of an upsert of `input.key`: the live file under that key keeps its id, creation time and URL;
 * an expired one is replaced by a new file. Its content is what `content` says.
 */
function upserted(ctx: ClientContext, call: string, input: UpsertInput, stored: StoredFile | undefined, content: Pick<StoredFile, 'size' | 'chunks' | 'status'>): StoredFile {
  const now = nowIso(ctx)
  const live = stored && isLive(stored, ctx.clock.now()) ? stored : undefined
  const file: StoredFile = {
    id: live?.id ?? ctx.ids('file'),
    key: input.key,
    ...content,
    contentType: contentTypeOf(input.key, input.contentType),
    tags: mergeTags({}, input.tags),
    metadata: input.metadata === undefined ? {} : jsonPayload(call, 'metadata', input.metadata).payload,
    createdAt: live?.createdAt ?? now,
    updatedAt: now,
    accessPolicies: input.accessPolicies ?? [],
    index: input.index ?? false,
    readToken: live?.readToken ?? token(),
    uploadToken: token(),
  }
  const expiresAt = checkExpiry(ctx, call, input.expiresAt)
  if (expiresAt !== undefined) file.expiresAt = expiresAt
  return file
}

/** The status of a file whose content has arrived: indexing is not simulated, so an indexed file is indexed at once. */
function uploadedStatus(file: { index: boolean }): FileStatus {
  return file.index ? 'indexing_completed' : 'upload_completed'
}

function chunksOf(size: number): number {
  return Math.ceil(size / CHUNK_BYTES)
}

/** The bytes of `uploadFile`'s content, or of what its `url` answers. */
async function bytesOf(input: { content?: Content; url?: string }): Promise<Buffer> {
  const { content } = input
  if (typeof content === 'string') return Buffer.from(content, 'utf8')
  if (content !== undefined && ArrayBuffer.isView(content)) return Buffer.from(content.buffer, content.byteOffset, content.byteLength)
  if (content instanceof ArrayBuffer) return Buffer.from(content)
  if (content !== undefined) return Buffer.from(await (content as Blob).arrayBuffer())
  let response: Response
  try {
    response = await fetch(input.url!)
  } catch (error) {
    throw new InvalidPayloadError(`uploadFile: url: could not download ${input.url}: ${(error as Error).message}`)
  }
  if (!response.ok) throw new InvalidPayloadError(`uploadFile: url: ${input.url} answered ${response.status}`)
  const declared = Number(response.headers.get('content-length'))
  if (declared > MAX_FILE_BYTES) checkSize('uploadFile', declared)
  return Buffer.from(await response.arrayBuffer())
}

/**
 * Stores the content of file `id` sent to its `uploadUrl` (the HTTP face's PUT); ResourceNotFound unless
 * `uploadToken` is the URL's, found before `body` is read.
 */
export async function putFileContent(ctx: ClientContext, id: string, uploadToken: string, body: () => Promise<Buffer>): Promise<BotpressFile> {
  if (!tokenMatches(uploadToken, (await requireFile(ctx, id)).uploadToken)) throw notFound(id)
  const content = await body()
  checkSize('upload', content.length)
  return withFile(ctx, id, async (before) => {
    // Checked again: an upsert meanwhile gave the file a new upload URL.
    if (!tokenMatches(uploadToken, before.uploadToken)) throw notFound(id)
    const after: StoredFile = { ...before, size: content.length, chunks: chunksOf(content.length), status: uploadedStatus(before), updatedAt: nowIso(ctx) }
    await ctx.store.batch(fileWriteOps(ctx.botId, before, after, content))
    return botpressFile(ctx, after)
  })
}

/**
 * A file and its content. `readToken` is the token of the `url` it was asked for (ResourceNotFound unless it is
 * the file's), or null for a caller in-process. A file whose content has not arrived is not found either.
 */
export async function fileContent(ctx: ClientContext, id: string, readToken: string | null): Promise<{ file: BotpressFile; content: Buffer }> {
  // Under the key's lock: the record and the chunks read together are of one upload.
  return withFile(ctx, id, async (file) => {
    if (readToken !== null && !tokenMatches(readToken, file.readToken)) throw notFound(id)
    if (file.status === 'upload_pending' || file.status === 'upload_failed')
      throw new ResourceNotFoundError(`file ${JSON.stringify(id)} has no content yet: PUT it to its uploadUrl`)
    const chunks = await ctx.store.entries(layout.files.chunksRange(ctx.botId, id))
    return { file: botpressFile(ctx, file), content: Buffer.concat(chunks.map(([, value]) => Buffer.from(value, 'base64'))) }
  })
}

/** Loads files by id, the live ones. */
async function loadFiles(ctx: ClientContext, ids: string[]): Promise<(StoredFile | undefined)[]> {
  const now = ctx.clock.now()
  const files = await ctx.store.getManyJson<StoredFile>(ids.map((id) => layout.files.record(ctx.botId, id)))
  return files.map((f) => (f && isLive(f, now) ? f : undefined))
}

/** File operations of the API. */
export const fileOps = {
  /**
   * Creates the file of a key, or resets the one there (same id and URL, new content to come): its status is
   * `upload_pending` until its content is PUT to `uploadUrl`.
   */
  upsertFile: operation({
    route: { method: 'PUT', path: '/v1/files' },
    input: upsertSchema,
    run: async (ctx, input) => {
      checkSize('upsertFile', input.size)
      return withKey(ctx, input.key, async (stored) => {
        const after = upserted(ctx, 'upsertFile', input, stored, { size: null, chunks: 0, status: 'upload_pending' })
        await ctx.store.batch(fileWriteOps(ctx.botId, stored, after))
        return { file: { ...botpressFile(ctx, after), uploadUrl: fileUrl(ctx, after, 'upload') } }
      })
    },
  }),

  /**
   * Upserts a file and stores its content (`content`, or what `url` answers) in one write: @botpress/client's
   * helper, which upserts then PUTs to the upload URL, done in-process. No HTTP route: the official client does
   * those two requests itself.
   */
  uploadFile: operation({
    input: uploadSchema,
    run: async (ctx, input) => {
      const content = await bytesOf(input)
      checkSize('uploadFile', content.length)
      return withKey(ctx, input.key, async (stored) => {
        const status = uploadedStatus({ index: input.index ?? false })
        const after = upserted(ctx, 'uploadFile', input, stored, { size: content.length, chunks: chunksOf(content.length), status })
        await ctx.store.batch(fileWriteOps(ctx.botId, stored, after, content))
        return { file: { ...botpressFile(ctx, after), uploadUrl: fileUrl(ctx, after, 'upload') } }
      })
    },
  }),

  /** Fetches one file by id (not its content: that is at its `url`). */
  getFile: operation({
    route: { method: 'GET', path: '/v1/files/{id}' },
    input: idOnly,
    run: async (ctx, { id }) => ({ file: botpressFile(ctx, await requireFile(ctx, id)) }),
  }),

  /**
   * Lists files, newest first unless `sortField` / `sortDirection` say otherwise; filters by `tags` (all must
   * match), `ids` (at most 50, one page) and `indexed`.
   */
  listFiles: operation({
    route: { method: 'GET', path: '/v1/files' },
    input: listSchema,
    run: async (ctx, input) => {
      const tags = input.tags ? mergeTags({}, input.tags) : undefined
      const accept = (f: StoredFile) => tagsMatch(f.tags, tags) && (input.indexed === undefined || f.index === input.indexed)
      const field = input.sortField ?? 'createdAt'
      const reverse = (input.sortDirection ?? (input.sortField === undefined ? 'desc' : 'asc')) === 'desc'
      if (input.ids !== undefined) {
        const found = keep(await loadFiles(ctx, input.ids)).filter(accept)
        const order = (f: StoredFile) => `${sortValue(f, field)}\u0000${f.id}`
        found.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0) * (reverse ? -1 : 1))
        return { files: found.map((f) => botpressFile(ctx, f)), meta: {} }
      }
      // Tags alone walk the first tag's index (newest first); a sort field walks its own.
      const [firstTag] = Object.entries(tags ?? {})
      const range = firstTag && input.sortField === undefined ? layout.files.byTagRange(ctx.botId, ...firstTag) : layout.files.bySortRange(ctx.botId, field)
      const page = await readPage(ctx.store, 'listFiles', { range, reverse, load: (keys) => loadFiles(ctx, keys.map(lastSegment)), accept }, input)
      return { files: page.items.map((f) => botpressFile(ctx, f)), meta: pageMeta(page.nextToken) }
    },
  }),

  /** Merges metadata and tags into a file (`null` removes a key), replaces its access policies, sets or clears its expiry. */
  updateFileMetadata: operation({
    route: { method: 'PUT', path: '/v1/files/{id}' },
    input: updateSchema,
    run: async (ctx, input) => {
      const patch = input.metadata === undefined ? undefined : jsonPayload('updateFileMetadata', 'metadata', input.metadata).payload
      const expiresAt = checkExpiry(ctx, 'updateFileMetadata', input.expiresAt)
      return withFile(ctx, input.id, async (before) => {
        const after: StoredFile = { ...before, tags: mergeTags(before.tags, input.tags), updatedAt: nowIso(ctx) }
        if (patch) {
          const metadata = new Map(Object.entries(before.metadata))
          for (const [name, value] of Object.entries(patch)) value === null ? metadata.delete(name) : metadata.set(name, value)
          after.metadata = Object.fromEntries(metadata)
          jsonPayload('updateFileMetadata', 'metadata', after.metadata)
        }
        if (input.accessPolicies !== undefined) after.accessPolicies = input.accessPolicies
        if (expiresAt !== undefined) after.expiresAt = expiresAt
        else if (input.expiresAt === null) delete after.expiresAt
        await ctx.store.batch(fileWriteOps(ctx.botId, before, after))
        return { file: botpressFile(ctx, after) }
      })
    },
  }),

  /** Deletes a file with its content, in one write. */
  deleteFile: operation({
    route: { method: 'DELETE', path: '/v1/files/{id}' },
    input: idOnly,
    run: (ctx, { id }) =>
      withFile(ctx, id, async (file) => {
        await ctx.store.batch(fileWriteOps(ctx.botId, file, undefined))
        return {}
      }),
  }),
}
