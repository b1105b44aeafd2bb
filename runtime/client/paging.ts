import { decodeKey, inRange, type Range } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { InvalidPayloadError } from './errors.ts'

/** A list call's paging fields. */
export type PageRequest = { limit?: number; nextToken?: string }
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

/** The id at the end of an index key. */
export function lastSegment(indexKey: string): string {
  return decodeKey(indexKey).at(-1)!
}

function encodeToken(indexKey: string): string {
  return Buffer.from(indexKey, 'utf8').toString('base64url')
}

function decodeToken(call: string, token: string, range: Range): string {
  const indexKey = Buffer.from(token, 'base64url').toString('utf8')
  // A token names a place inside this list's own range; anything else would read another list.
  if (!inRange(indexKey, range)) throw new InvalidPayloadError(`${call}: nextToken: not a token of this list`)
  return indexKey
}

/**
 * Reads one page from an index range. The token is the last index key returned, so paging resumes
 * strictly after it: records that exist throughout a walk are seen once, whatever is written meanwhile
 * (for indexes whose keys do not move, which holds for createdAt).
 */
export async function readPage<T>(
  store: Store,
  call: string,
  source: PageSource<T>,
  request: PageRequest,
): Promise<Page<T>> {
  const limit = request.limit ?? DEFAULT_LIMIT
  const after = request.nextToken === undefined ? undefined : decodeToken(call, request.nextToken, source.range)
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
        if (items.length === limit) return { items, nextToken: encodeToken(lastItemKey!) }
        items.push(record)
        lastItemKey = chunk[i]
      }
      if (scanned >= SCAN_BUDGET + limit) return { items, nextToken: encodeToken(chunk[i]!) }
    }
    chunk = []
    return undefined
  }

  for await (const indexKey of store.iterateKeys(source.range, { reverse: source.reverse ?? false, after })) {
    chunk.push(indexKey)
    if (chunk.length > limit - items.length) {
      const page = await flush()
      if (page) return page
    }
  }
  const page = await flush()
  return page ?? { items }
}
