/**
 * Values read from the store, kept equal to it by the store's own writes: one process owns a LevelDB
 * folder (its LOCK file), so every write passes through `written` and nothing else can change a value.
 * A read that misses fills the cache only if no write touched its key while it was in flight.
 * Least recently used values go first past `maxBytes`. `undefined` records a key known to be absent.
 */
export class ReadCache {
  private readonly values = new Map<string, string | undefined>()
  /** Reads in flight, by key: a write marks them stale so that they do not fill an old value. */
  private readonly inflight = new Map<string, { stale: boolean }[]>()
  private bytes = 0

  /**
   * 32 MiB by `cost` (UTF-16 sizes, so about half of it in V8's one-byte strings) holds the user, conversation,
   * membership and state of 10,000 conversations, which a message's turn reads: with 4 MiB every turn at that
   * scale read them from LevelDB, and the dispatch path ran at half the speed (`npm run bench`, peer rows).
   */
  constructor(readonly maxBytes = 32 * 1024 * 1024) {}

  /** A cached value: `hit` false when the key is not known. */
  lookup(key: string): { hit: boolean; value: string | undefined } {
    if (!this.values.has(key)) return { hit: false, value: undefined }
    const value = this.values.get(key)
    // Map order is recency order: move to the back.
    this.values.delete(key)
    this.values.set(key, value)
    return { hit: true, value }
  }

  /**
   * Reads keys the cache does not hold (the store looked them up first) through `read`, and fills the
   * cache with what comes back unless a write touched a key meanwhile.
   */
  async readMissing(missing: string[], read: (missing: string[]) => Promise<(string | undefined)[]>): Promise<(string | undefined)[]> {
    const token = { stale: false }
    for (const key of missing) this.inflight.set(key, [...(this.inflight.get(key) ?? []), token])
    try {
      const values = await read(missing)
      if (!token.stale) missing.forEach((key, j) => this.remember(key, values[j]))
      return values
    } finally {
      // Once per key: a key asked for twice in one read has one entry to clear.
      for (const key of new Set(missing)) {
        const tokens = this.inflight.get(key)!.filter((t) => t !== token)
        if (tokens.length === 0) this.inflight.delete(key)
        else this.inflight.set(key, tokens)
      }
    }
  }

  /** Sees a write: cached keys take their new value, reads in flight of these keys will not fill. */
  written(ops: readonly { type: 'put' | 'del'; key: string; value?: string }[]): void {
    this.staged(ops)
    for (const op of ops) if (this.values.has(op.key)) this.remember(op.key, op.type === 'put' ? op.value : undefined)
  }

  /** Forgets every value. */
  clear(): void {
    this.values.clear()
    this.bytes = 0
    for (const tokens of this.inflight.values()) for (const token of tokens) token.stale = true
  }

  /** Sees ops staged for writing: reads in flight of these keys will not fill (the store's overlay answers them). */
  staged(ops: readonly { key: string }[]): void {
    // Most writes meet no read in flight: no look-up per key then.
    if (this.inflight.size === 0) return
    for (const op of ops) for (const token of this.inflight.get(op.key) ?? []) token.stale = true
  }

  /** Drops these keys (after a write that failed: the store's state is not known for sure). */
  forget(ops: readonly { key: string }[]): void {
    for (const op of ops) {
      for (const token of this.inflight.get(op.key) ?? []) token.stale = true
      if (this.values.has(op.key)) {
        this.bytes -= cost(op.key, this.values.get(op.key))
        this.values.delete(op.key)
      }
    }
  }

  private remember(key: string, value: string | undefined): void {
    const old = this.values.get(key)
    if (this.values.has(key)) this.bytes -= cost(key, old)
    this.values.delete(key)
    this.values.set(key, value)
    this.bytes += cost(key, value)
    for (const [oldest, oldValue] of this.values) {
      if (this.bytes <= this.maxBytes) break
      this.values.delete(oldest)
      this.bytes -= cost(oldest, oldValue)
    }
  }
}

/** Rough bytes of an entry: UTF-16 strings and the map's own overhead. */
function cost(key: string, value: string | undefined): number {
  return 2 * (key.length + (value?.length ?? 0)) + 64
}
