import { randomBytes } from 'node:crypto'
import type { AbstractBatchOptions, AbstractLevel, AbstractSnapshot } from 'abstract-level'
import { UnavailableError } from '../client/errors.ts'
import { startTicker } from '../time/ticker.ts'
import { inRange, type Range } from './keys.ts'
import { ReadCache } from './cache.ts'
import { Locks, type LockService, type LockSet } from './lock.ts'
import { ClassicLevel } from 'classic-level'
import { openDataFolder } from './open.ts'

export { DataFolderError, DataFolderInUseError, type DataFolderReason } from './open.ts'

/** Whether a store's location names a PostgreSQL database (`postgres://...`) rather than a data folder. */
export function isDatabaseUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location)
}

/** Any abstract-level database with string keys and values (classic-level, memory-level, ...). */
export type Db = AbstractLevel<any, string, string>

/** One write of a batch. */
export type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string }

/** How the store is opened. */
export type StoreOptions = {
  /** Every group commit waits for fsync (LevelDB's `sync`): a machine crash then loses nothing answered. Default false. */
  fsync?: boolean
  /** Runs `tick` every `everyMs` ms until stopped; the store retries a write the disk refused with it (tests drive it by hand). */
  ticker?: (tick: () => Promise<void>, everyMs: number) => () => void
  /** The longest staged writes wait for the work under way to flush them (see `begin`); default MAX_DEFER_MS. */
  maxDeferMs?: number
}

/**
 * What a database that several processes share (PostgreSQL) brings to the store: locks and turns that
 * hold across the processes, and who among them died.
 */
export type Sharing = {
  /** `hold`'s locks. */
  locks: LockService
  /** `turn`'s queues. */
  turns: LockService
  /** Walks open at once (each holds a connection in a transaction). */
  maxWalks: number
  /** Takes over the processes that died (each goes to one live process); counts the live others. */
  adoptDead(): Promise<{ adopted: string[]; others: number }>
  /** Leaves the database (after the store's own database closed). */
  close(): Promise<void>
}

/** Whether the store can write; `reason` says why not (`failed` stays until restart, the others pass by themselves). */
export type StoreHealth = { ok: true } | { ok: false; reason: 'disk-full' | 'out-of-descriptors' | 'failed'; message: string }

/** Write failures that pass once the machine frees space or descriptors: the store keeps the writes and retries. */
const passing = [
  { reason: 'disk-full', codes: ['ENOSPC'], text: /No space left/i, what: 'the disk is full', until: 'space is freed' },
  { reason: 'out-of-descriptors', codes: ['EMFILE', 'ENFILE'], text: /Too many open files/i, what: 'the process is out of file descriptors', until: 'some are freed' },
] as const

type Passing = (typeof passing)[number]

/** Which passing failure `error` is (LevelDB reports both as LEVEL_IO_ERROR with the system's words), if any. */
function passingFailure(error: unknown): Passing | undefined {
  for (let e = error as { code?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    const found = passing.find((p) => (p.codes as readonly string[]).includes(e!.code ?? '') || p.text.test(e!.message ?? ''))
    if (found) return found
  }
  return undefined
}

/** What a writer is told while a passing failure lasts. */
function refusal({ what, until }: Passing): string {
  return `${what}: nothing more can be written until ${until}; retry later`
}

/** Ms between retries of a write the disk refused. */
export const RETRY_EVERY_MS = 1000

/** Options of a range read; `walk` reads the snapshot of an open walk (see `openWalk`). */
export type ScanOptions = { reverse?: boolean; after?: string; walk?: string }

/** What a batch that only stages returns: one settled promise for all (a promise each costs the async hooks). */
const DONE = Promise.resolve()

/** Staged ops past which a batch waits for them to be written (memory stays bounded). */
export const MAX_STAGED_OPS = 10_000

/** By default, the longest a staged write waits for the work under way (see `begin`) before it is written anyway. */
export const MAX_DEFER_MS = 20

/** Walks (list paging) open at once; past it the least recently used one closes (a shared database says its own). */
export const MAX_OPEN_WALKS = 256

/**
 * The only code that touches LevelDB. Everything is strings: keys come from keys.ts, values are JSON.
 * Writes that must be atomic go through `batch` (staged, then group-committed); read-check-write sequences
 * run under `hold` (keyed read-write locks).
 */
export class Store {
  private readonly locks: LockService
  private readonly turns: LockService
  private readonly observers: ((ops: Op[]) => void)[] = []
  /**
   * Recently read values; the store's own batches keep it true when one process owns the database
   * (LevelDB's folder). A shared database has other writers: nothing is cached (a size of 0).
   */
  private readonly cache: ReadCache
  /** Batches staged and not yet written, in order; `overlay` holds the latest staged op of each key. */
  private staged: Op[] = []
  private readonly overlay = new Map<string, Op>()
  private flushing: Promise<void> | undefined
  private flushScheduled = false
  /** Work under way that flushes when it ends (see `begin`). */
  private openWork = 0
  /** Writes a batch to the database. */
  private readonly write: (ops: Op[], options: AbstractBatchOptions<string, string>) => Promise<void>
  /** A flush that failed for good: its writes are lost, so every later write and flush reports it. */
  private flushError: Error | undefined
  /** A flush the disk refused for now (full, out of descriptors): its writes stay staged and are retried. */
  private refused: { failure: Passing; cause: unknown } | undefined
  private stopRetrying: (() => void) | undefined
  private readonly writeOptions: AbstractBatchOptions<string, string> & { sync?: boolean }
  /** Snapshots of paged walks, least recently used first. */
  private readonly walks = new Map<string, AbstractSnapshot>()
  /** Walk ids start with this store's own prefix: a page token from before a restart names no walk of this one. */
  private readonly walkPrefix = randomBytes(6).toString('hex')
  private walkCount = 0

  constructor(
    readonly db: Db,
    private readonly options: StoreOptions = {},
    /** Set when other processes share the database (PostgreSQL): see `shared`. */
    private readonly sharing?: Sharing,
  ) {
    this.writeOptions = { sync: options.fsync === true }
    this.write = directBatch(db) ?? ((ops, options) => db.batch(ops, options))
    this.locks = sharing?.locks ?? new Locks()
    this.turns = sharing?.turns ?? new Locks()
    this.cache = new ReadCache(sharing ? 0 : undefined)
  }

  /**
   * Opens the store at `location`: a `postgres://` URL (see postgres/index.ts), else the LevelDB database
   * in that folder, creating it only in an empty or absent folder; raises a DataFolderError (`reason`,
   * one-sentence message) for a folder in use, damaged or not a database.
   */
  static async open(location: string, options: StoreOptions = {}): Promise<Store> {
    if (isDatabaseUrl(location)) return (await import('./postgres/index.ts')).openPostgres(location, options)
    return new Store((await openDataFolder(location)) as unknown as Db, options)
  }

  /**
   * Whether other processes share the database: then locks and turns hold across them, every `hold` and
   * `turn` writes what it staged before letting go, nothing is cached, and due work is claimed (see the keeper).
   */
  get shared(): boolean {
    return this.sharing !== undefined
  }

  /** Processes sharing the database that died, taken over by this one (none on LevelDB); and how many others live. */
  adoptDead(): Promise<{ adopted: string[]; others: number }> {
    return this.sharing?.adoptDead() ?? Promise.resolve({ adopted: [], others: 0 })
  }

  /** Wraps an already created database (memory-level in tests). */
  static async over(db: Db, options: StoreOptions = {}): Promise<Store> {
    if (db.status !== 'open') await db.open()
    return new Store(db, options)
  }

  /** Whether writes are reaching the database now, and if not why (for /health). */
  health(): StoreHealth {
    if (this.refused) return { ok: false, reason: this.refused.failure.reason, message: refusal(this.refused.failure) }
    if (this.flushError) return { ok: false, reason: 'failed', message: `writing to the database failed (${this.flushError.message}): nothing more is written until localbot restarts` }
    return { ok: true }
  }

  /** Reads one value; recently read values come from the read cache. */
  get(key: string): Promise<string | undefined> {
    return this.getMany([key]).then((values) => values[0])
  }

  /**
   * Reads values: staged writes first, then the read cache, then LevelDB in one round trip. Not an async
   * function: a read the overlay and the cache answer makes one promise (each costs the async hooks of
   * the supervisor's context).
   */
  getMany(keys: string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([])
    const out: (string | undefined)[] = new Array(keys.length)
    const rest: string[] = []
    const at: number[] = []
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      const op = this.overlay.get(key)
      if (op) out[i] = op.type === 'put' ? op.value : undefined
      else {
        const cached = this.cache.lookup(key)
        if (cached.hit) out[i] = cached.value
        else {
          rest.push(key)
          at.push(i)
        }
      }
    }
    if (rest.length === 0) return Promise.resolve(out)
    return this.cache.readMissing(rest, (missing) => this.db.getMany(missing)).then((values) => {
      rest.forEach((_, j) => (out[at[j]!] = values[j]))
      return out
    })
  }

  getJson<T>(key: string): Promise<T | undefined> {
    return this.get(key).then((raw) => (raw === undefined ? undefined : (JSON.parse(raw) as T)))
  }

  getManyJson<T>(keys: string[]): Promise<(T | undefined)[]> {
    return this.getMany(keys).then((raws) => raws.map((raw) => (raw === undefined ? undefined : (JSON.parse(raw) as T))))
  }

  /**
   * Stages ops that must apply together: every read sees them at once, and they reach LevelDB with the
   * other batches staged in the same turn of the event loop, in one LevelDB batch (group commit), so a
   * crash keeps all of them or none. `flush()` waits until they are written; the dispatcher flushes
   * before a message's handling is answered, and the store before it closes.
   */
  batch(ops: Op[]): Promise<void> {
    if (ops.length === 0) return DONE
    if (this.flushError) return Promise.reject(this.flushError)
    // A refused write is retried first: while it still fails, this batch is refused (nothing staged).
    if (this.refused) return this.flush().then(() => this.stage(ops))
    try {
      return this.stage(ops)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** `batch` once nothing refused is waiting: stages `ops`, and schedules their flush. */
  private stage(ops: Op[]): Promise<void> {
    for (const op of ops) {
      this.staged.push(op)
      this.overlay.set(op.key, op)
    }
    this.cache.staged(ops)
    for (const observer of this.observers) observer(ops)
    if (this.staged.length >= MAX_STAGED_OPS) {
      // Staged is staged: a refused flush keeps these ops and retries them, so this batch did not fail.
      return this.flush().catch((error: unknown) => {
        if (!this.refused) throw error
      })
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true
      const flush = () => {
        this.flushScheduled = false
        this.flush().catch(() => undefined) // kept in flushError or refused: the next batch or flush raises it
      }
      // While work that flushes when it ends is under way, its writes wait for it (one write per turn), but not long.
      if (this.openWork > 0) setTimeout(flush, this.options.maxDeferMs ?? MAX_DEFER_MS)
      else setImmediate(flush)
    }
    return DONE
  }

  /**
   * Opens a piece of work that calls `flush()` when it ends (a message's turn, an event's): until every
   * open piece ends, staged writes wait for those flushes (at most MAX_DEFER_MS) instead of being written
   * as the event loop turns, so that a turn's writes reach LevelDB in one batch rather than one per read
   * that waited on the disk. Returns the function that ends it. Whatever ends a piece (an answer, an error, a
   * time limit), the staged writes are written within `maxDeferMs`.
   */
  begin(): () => void {
    this.openWork++
    let ended = false
    return () => {
      if (ended) return
      ended = true
      this.openWork--
    }
  }

  /** Deletes everything (tests between runs): staged writes, the read cache and the database. */
  async clear(): Promise<void> {
    await this.flush()
    this.cache.clear()
    await this.db.clear()
  }

  /**
   * Writes everything staged so far; resolves once it is in LevelDB. When the disk is full or descriptors
   * are out, the ops stay staged (and readable) in order, it raises UnavailableError, and they are retried
   * every second and by the next batch or flush until written (range reads, which flush first, raise it
   * meanwhile). Any other failure is for good.
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing
    if (this.flushError) throw this.flushError
    if (this.staged.length === 0) return
    const ops = this.staged
    this.staged = []
    this.flushing = (async () => {
      const written = lastOfEachKey(ops)
      try {
        await this.write(written, this.writeOptions)
      } catch (error) {
        const failure = passingFailure(error)
        if (failure) return this.refuse(ops, failure, error)
        this.fail(ops, error as Error)
        throw error
      } finally {
        this.flushing = undefined
      }
      this.cache.written(written)
      this.unstage(ops)
      this.refused = undefined
      this.stopRetrying?.()
      this.stopRetrying = undefined
    })()
    await this.flushing
  }

  /** Keeps refused ops staged ahead of any staged since, and retries them every second until written. */
  private refuse(ops: Op[], failure: Passing, cause: unknown): never {
    this.staged = ops.concat(this.staged)
    this.refused = { failure, cause }
    const ticker = this.options.ticker ?? startTicker
    this.stopRetrying ??= ticker(() => this.flush().catch(() => undefined), RETRY_EVERY_MS)
    throw new UnavailableError(refusal(failure), { cause })
  }

  /** A write failed for good: its ops and those staged since are dropped (and forgotten by the cache); later writes raise `error`. */
  private fail(ops: Op[], error: Error): void {
    const lost = ops.concat(this.staged)
    this.staged = []
    this.cache.forget(lost)
    this.unstage(lost)
    this.flushError = error
    this.refused = undefined
    this.stopRetrying?.()
    this.stopRetrying = undefined
  }

  private unstage(ops: Op[]): void {
    for (const op of ops) if (this.overlay.get(op.key) === op) this.overlay.delete(op.key)
  }

  /** Calls `observer` with the ops of every batch as it is staged (the time keeper watches its indexes). */
  observe(observer: (ops: Op[]) => void): () => void {
    this.observers.push(observer)
    return () => void this.observers.splice(this.observers.indexOf(observer) >>> 0, 1)
  }

  /** Every key in `range`, in key order. */
  async keys(range: Range): Promise<string[]> {
    await this.flush()
    return this.db.keys(this.bounds(range, {})).all()
  }

  /** Key/value pairs in `range`. */
  async entries(range: Range): Promise<[string, string][]> {
    await this.flush()
    return this.db.iterator(this.bounds(range, {})).all()
  }

  /**
   * Iterates keys of `range` lazily, for scans that stop early: `first` keys in one read (what the
   * caller expects to need), then reads that double up to 1,000. A plain for-await over a classic-level
   * iterator reads 1 key and then up to 1,000, so a page of a few keys paid for a thousand in a large
   * range (`npm run bench`, list-page).
   */
  async *iterateKeys(range: Range, options: ScanOptions & { first?: number } = {}): AsyncGenerator<string> {
    // Ranges are read from LevelDB: staged writes go there first.
    await this.flush()
    const iterator = this.db.keys(this.bounds(range, options))
    try {
      for (let size = Math.max(1, options.first ?? 16); ; size = Math.min(size * 2, 1000)) {
        const keys = await iterator.nextv(size)
        if (keys.length === 0) break
        yield* keys
      }
    } finally {
      await iterator.close()
    }
  }

  /** Runs `fn` holding the shared and exclusive locks of `set` (taken in name order). */
  hold<T>(set: LockSet, fn: () => Promise<T>): Promise<T> {
    return this.within(this.locks, set, fn)
  }

  /** Runs `fn` in the turn of `name`: one piece of work at a time per name, in arrival order (the dispatcher's queues). */
  turn<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.within(this.turns, { exclusive: [name] }, fn)
  }

  /** On a shared database the next holder may be another process, which reads the database: what `fn` staged is written first. */
  private within<T>(locks: LockService, set: LockSet, fn: () => Promise<T>): Promise<T> {
    if (!this.sharing) return locks.hold(set, fn)
    return locks.hold(set, async () => {
      try {
        return await fn()
      } finally {
        await this.flush()
      }
    })
  }

  /**
   * Opens a walk: a snapshot of the whole database that the pages of one list read their index from,
   * so that a walk sees each record that existed throughout exactly once, whatever is written meanwhile.
   */
  async openWalk(): Promise<string> {
    await this.flush()
    const id = this.walkPrefix + (++this.walkCount).toString(36)
    this.walks.set(id, this.db.snapshot())
    while (this.walks.size > (this.sharing?.maxWalks ?? MAX_OPEN_WALKS)) this.closeWalk(this.walks.keys().next().value!)
    return id
  }

  /** Whether a walk is still open (walks close when done, when evicted, and with the store). */
  hasWalk(id: string): boolean {
    const snapshot = this.walks.get(id)
    if (!snapshot) return false
    this.walks.delete(id)
    this.walks.set(id, snapshot)
    return true
  }

  /** Closes a walk's snapshot. */
  closeWalk(id: string): void {
    const snapshot = this.walks.get(id)
    this.walks.delete(id)
    void snapshot?.close()
  }

  /**
   * Writes what is staged and closes. After a write failed for good it still closes (that failure was
   * raised already); if the disk still refuses what is staged, it closes and raises UnavailableError.
   */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined)
    const unsaved = this.refused ? this.staged.length : 0
    const failure = this.refused?.failure
    this.stopRetrying?.()
    this.stopRetrying = undefined
    for (const id of [...this.walks.keys()]) this.closeWalk(id)
    await this.db.close()
    await this.sharing?.close()
    if (failure) throw new UnavailableError(`${failure.what}: ${unsaved} staged writes could not be saved before the store closed`, { cause: this.refused?.cause })
  }

  private bounds(range: Range, { reverse = false, after, walk }: ScanOptions) {
    const bounds: { gt?: string; lt?: string; reverse: boolean; snapshot?: AbstractSnapshot } = { gt: range.gt, lt: range.lt, reverse }
    const snapshot = walk === undefined ? undefined : this.walks.get(walk)
    if (snapshot) bounds.snapshot = snapshot
    if (after !== undefined && inRange(after, range)) {
      if (reverse) bounds.lt = after
      else bounds.gt = after
    }
    return bounds
  }
}

/**
 * The last op of each key, in order: a turn writes its event twice (pending, then how it ended) and puts then
 * deletes its `pending` index entry, and LevelDB would store every one of them.
 */
export function lastOfEachKey(ops: Op[]): Op[] {
  if (ops.length < 2) return ops
  const last = new Map<string, number>()
  ops.forEach((op, i) => last.set(op.key, i))
  return last.size === ops.length ? ops : ops.filter((op, i) => last.get(op.key) === i)
}

/**
 * classic-level's own batch, for a database whose ops the store already made right (string keys and
 * values, `put` or `del`): abstract-level's public batch copies and checks every op before handing them
 * to it, a sixth of the time of a message's turn in a profile of the dispatch path (`npm run bench`,
 * peer rows). Any other database (memory-level in tests) goes through its public batch.
 */
function directBatch(db: Db): ((ops: Op[], options: AbstractBatchOptions<string, string>) => Promise<void>) | undefined {
  const own = db as unknown as { _batch?: (ops: Op[], options: object) => Promise<void> }
  if (!(db instanceof ClassicLevel) || typeof own._batch !== 'function') return undefined
  return (ops, options) => {
    if (db.status !== 'open') return db.batch(ops, options)
    return own._batch!(ops, options)
  }
}
