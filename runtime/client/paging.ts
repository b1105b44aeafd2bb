import { decodeKey, inRange, type Range } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { InvalidPayloadError } from './errors.ts'

/** A list call's paging fields: `limit` or Botpress's `pageSize`, the same thing. */
export type PageRequest = { limit?: number; pageSize?: number; nextToken?: string }
/** One page of records. */
export type Page<T> = { items: T[]; nextToken?: string }

/** The page size when a call gives none. */
export const DEFAULT_LIMIT = 20
/**
 * Index entries one page may read past its filters. Past it the page ends early with a nextToken,
 * so that a page costs the same however many records a filter skips.
 */
export const SCAN_BUDGET = 2000

/** A walk over one index range: which keys, in what order, and how to turn keys into records. */
export type PageSource<T> = {
  range: Range
  reverse?: boolean
  /** Loads the records named by index keys (undefined where gone). */
  load: (keys: string[]) => Promise<(T | undefined)[]>
  /** Filters that the index does not cover. */
  accept?: (record: T) => boolean
}

/** How many records a page holds. */
export function pageLimit(request: PageRequest): number {
  return request.limit ?? request.pageSize ?? DEFAULT_LIMIT
}

/** The id at the end of an index key. */
export function lastSegment(indexKey: string): string {
  return decodeKey(indexKey).at(-1)!
}

/** A token is the walk's id and the last index key read: `WALK '\u0002' KEY`, base64url. */
export function encodeToken(walk: string, indexKey: string): string {
  return Buffer.from(`${walk}\u0002${indexKey}`, 'utf8').toString('base64url')
}

/** The walk and last key of a token, which must name a key of `range` (else InvalidPayload). */
export function decodeToken(call: string, token: string, range: Range): { walk: string; after: string } {
  const text = Buffer.from(token, 'base64url').toString('utf8')
  const split = text.indexOf('\u0002')
  const walk = text.slice(0, split)
  const after = text.slice(split + 1)
  // A token names a place inside this list's own range; anything else would read another list.
  if (split < 1 || !/^[0-9a-z]+$/.test(walk) || !inRange(after, range)) throw new InvalidPayloadError(`${call}: nextToken: not a token of this list`)
  return { walk, after }
}

/**
 * Reads one page from an index range. A list's first page opens a walk (a snapshot of the store) and
 * every page of it reads the index from that snapshot, resuming strictly after the last key returned:
 * a record that exists throughout a walk is seen exactly once, whatever is written meanwhile, even in
 * an order that writes move (updatedAt). Records themselves are read live, so a page shows them as
 * they are now, and skips those deleted since. A walk no longer open (evicted, or the runtime restarted)
 * goes on from its key over the live index.
 */
export async function readPage<T>(
  store: Store,
  call: string,
  source: PageSource<T>,
  request: PageRequest,
): Promise<Page<T>> {
  const limit = pageLimit(request)
  const token = request.nextToken === undefined ? undefined : decodeToken(call, request.nextToken, source.range)
  const after = token?.after
  const walk = token && store.hasWalk(token.walk) ? token.walk : await store.openWalk()
  const items: T[] = []
  let lastItemKey: string | undefined
  let scanned = 0
  let chunk: string[] = []

  const flush = async (): Promise<Page<T> | undefined> => {
    const records = await source.load(chunk)
    for (let i = 0; i < chunk.length; i++) {
      scanned++
      const record = records[i]
      if (record !== undefined && (!source.accept || source.accept(record))) {
        if (items.length === limit) return { items, nextToken: encodeToken(walk, lastItemKey!) }
        items.push(record)
        lastItemKey = chunk[i]
      }
      if (scanned >= SCAN_BUDGET + limit) return { items, nextToken: encodeToken(walk, chunk[i]!) }
    }
    chunk = []
    return undefined
  }

  for await (const indexKey of store.iterateKeys(source.range, { reverse: source.reverse ?? false, after, walk, first: limit + 1 })) {
    chunk.push(indexKey)
    if (chunk.length > limit - items.length) {
      const page = await flush()
      if (page) return page
    }
  }
  const page = await flush()
  if (page) return page
  store.closeWalk(walk)
  return { items }
}
