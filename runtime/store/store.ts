import type { AbstractLevel, AbstractSnapshot } from 'abstract-level'
import { Level } from 'level'
import { inRange, type Range } from './keys.ts'
import { ReadCache } from './cache.ts'
import { Locks, type LockSet } from './lock.ts'

/** Any abstract-level database with string keys and values (classic-level, memory-level, ...). */
export type Db = AbstractLevel<any, string, string>

/** One write of a batch. */
export type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string }

/** Raised when another process holds the data folder. */
export class DataFolderInUseError extends Error {
  constructor(readonly location: string, options?: ErrorOptions) {
    super(`data folder in use by another localbot: ${location}`, options)
    this.name = 'DataFolderInUseError'
  }
}

/** Options of a range read; `walk` reads the snapshot of an open walk (see `openWalk`). */
export type ScanOptions = { reverse?: boolean; after?: string; walk?: string }

/** Staged ops past which a batch waits for them to be written (memory stays bounded). */
export const MAX_STAGED_OPS = 10_000

/** Walks (list paging) open at once; past it the least recently used one closes. */
export const MAX_OPEN_WALKS = 256

/**
 * The only code that touches LevelDB. Everything is strings: keys come from keys.ts, values are JSON.
 * Writes that must be atomic go through `batch` (staged, then group-committed); read-check-write sequences
 * run under `hold` (keyed read-write locks).
 */
export class Store {
  private readonly locks = new Locks()
  private readonly observers: ((ops: Op[]) => void)[] = []
  /** Recently read values; the store's own batches keep it true (one process owns the folder). */
  private readonly cache = new ReadCache()
  /** Batches staged and not yet written, in order; `overlay` holds the latest staged op of each key. */
  private staged: Op[] = []
  private readonly overlay = new Map<string, Op>()
  private flushing: Promise<void> | undefined
  private flushScheduled = false
  /** A flush that failed: its writes are lost, so every later write and flush reports it. */
  private flushError: Error | undefined
  /** Snapshots of paged walks, least recently used first. */
  private readonly walks = new Map<string, AbstractSnapshot>()
  private walkCount = 0

  constructor(readonly db: Db) {}

  /** Opens (creating if needed) the LevelDB database in `location`. */
  static async open(location: string): Promise<Store> {
    const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    try {
      await db.open()
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED') throw new DataFolderInUseError(location, { cause: error })
      throw error
    }
    return new Store(db as unknown as Db)
  }

  /** Wraps an already created database (memory-level in tests). */
  static async over(db: Db): Promise<Store> {
    if (db.status !== 'open') await db.open()
    return new Store(db)
  }

  /** Reads one value; recently read values come from the read cache. */
  async get(key: string): Promise<string | undefined> {
    return (await this.getMany([key]))[0]
  }

  /** Reads values: staged writes first, then the read cache, then LevelDB in one round trip. */
  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return []
    const out: (string | undefined)[] = new Array(keys.length)
    const rest: string[] = []
    const at: number[] = []
    keys.forEach((key, i) => {
      const op = this.overlay.get(key)
      if (op) out[i] = op.type === 'put' ? op.value : undefined
      else {
        rest.push(key)
        at.push(i)
      }
    })
    if (rest.length > 0) {
      const values = await this.cache.read(rest, (missing) => this.db.getMany(missing))
      rest.forEach((_, j) => (out[at[j]!] = values[j]))
    }
    return out
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const raw = await this.get(key)
    return raw === undefined ? undefined : (JSON.parse(raw) as T)
  }

  async getManyJson<T>(keys: string[]): Promise<(T | undefined)[]> {
    const raws = await this.getMany(keys)
    return raws.map((raw) => (raw === undefined ? undefined : (JSON.parse(raw) as T)))
  }

  /**
   * Stages ops that must apply together: every read sees them at once, and they reach LevelDB with the
   * other batches staged in the same turn of the event loop, in one LevelDB batch (group commit), so a
   * crash keeps all of them or none. `flush()` waits until they are written; the dispatcher flushes
   * before a message's handling is answered, and the store before it closes.
   */
  async batch(ops: Op[]): Promise<void> {
    if (ops.length === 0) return
    if (this.flushError) throw this.flushError
    for (const op of ops) {
      this.staged.push(op)
      this.overlay.set(op.key, op)
    }
    this.cache.staged(ops)
    for (const observer of this.observers) observer(ops)
    if (this.staged.length >= MAX_STAGED_OPS) await this.flush()
    else if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => {
        this.flushScheduled = false
        this.flush().catch(() => undefined) // kept in flushError: the next batch or flush raises it
      })
    }
  }

  /** Deletes everything (tests between runs): staged writes, the read cache and the database. */
  async clear(): Promise<void> {
    await this.flush()
    this.cache.clear()
    await this.db.clear()
  }

  /** Writes everything staged so far; resolves once it is in LevelDB. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing
    if (this.flushError) throw this.flushError
    if (this.staged.length === 0) return
    const ops = this.staged
    this.staged = []
    this.flushing = (async () => {
      try {
        await this.db.batch(ops)
        this.cache.written(ops)
      } catch (error) {
        this.cache.forget(ops)
        this.flushError = error as Error
        throw error
      } finally {
        for (const op of ops) if (this.overlay.get(op.key) === op) this.overlay.delete(op.key)
        this.flushing = undefined
      }
    })()
    await this.flushing
  }

  /** Calls `observer` with the ops of every batch once it is written (the time keeper watches its indexes). */
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
    return this.locks.hold(set, fn)
  }

  /**
   * Opens a walk: a snapshot of the whole database that the pages of one list read their index from,
   * so that a walk sees each record that existed throughout exactly once, whatever is written meanwhile.
   */
  async openWalk(): Promise<string> {
    await this.flush()
    const id = (++this.walkCount).toString(36)
    this.walks.set(id, this.db.snapshot())
    while (this.walks.size > MAX_OPEN_WALKS) this.closeWalk(this.walks.keys().next().value!)
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

  async close(): Promise<void> {
    await this.flush()
    for (const id of [...this.walks.keys()]) this.closeWalk(id)
    await this.db.close()
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
