import { AbstractIterator, AbstractLevel, AbstractSnapshot } from 'abstract-level'
import pg from 'pg'
import { statements, type Bounds, type Query, type Statements, type Table } from './sql.ts'

/** How a PgLevel reaches its database. */
export type PgLevelOptions = {
  /** The server, as pg takes it (host, port, user, database, ...). */
  connection: pg.ClientConfig
  table: Table
  /** Each commit waits until the server has flushed it to disk (`synchronous_commit`); else the server flushes within 0.2–0.6 s. */
  fsync?: boolean
  /** Connections for reads and writes. */
  poolSize?: number
  /** Snapshots open at once: each holds a connection in a REPEATABLE READ transaction. */
  maxSnapshots?: number
}

type ReadOptions = { snapshot?: PgSnapshot }
type IteratorOptions = Bounds & ReadOptions & { limit: number }
type Row = [Buffer, string?]

/** Rows a range read asks for at a time when its reader gives no size (`all()`, `next()`). */
const PAGE = 500

/**
 * An abstract-level database over one PostgreSQL table `(key bytea, value text)`, so that the Store, its
 * cache, its walks and the compliance suite run on it unchanged. Keys are bytea because localbot's keys
 * hold `\u0000` (their separator), which `text` refuses; bytea compares bytewise, as LevelDB does, so
 * ranges come out in LevelDB's order (sql.ts has the indexes). A batch is one statement (one round trip,
 * atomic); a range is read a page at a time by key; a snapshot is a REPEATABLE READ transaction on a
 * connection of its own, held until it closes. Values are text: JSON and base64, never `\u0000`.
 */
export class PgLevel extends AbstractLevel<string, string, string> {
  readonly table: Table
  private readonly sql: Statements
  private readonly pool: pg.Pool
  private readonly snapshots: pg.Pool

  constructor(private readonly options: PgLevelOptions) {
    super({ encodings: { utf8: true }, explicitSnapshots: true, implicitSnapshots: false, permanence: true, createIfMissing: true, errorIfExists: false, seek: false })
    this.table = options.table
    this.sql = statements(options.table)
    const config = withSession(options.connection, options.fsync === true)
    this.pool = new pg.Pool({ ...config, max: options.poolSize ?? 8 })
    this.snapshots = new pg.Pool({ ...config, max: options.maxSnapshots ?? 16 })
    // An idle connection the server dropped (a restart) is replaced at the next query; it must not end the process.
    for (const pool of [this.pool, this.snapshots]) pool.on('error', () => undefined)
  }

  /** Snapshots open at once (the Store keeps at most this many walks). */
  get maxSnapshots(): number {
    return this.options.maxSnapshots ?? 16
  }

  async _open(): Promise<void> {
    // Two processes starting together may both create: IF NOT EXISTS still races on the catalog, so a lock orders them.
    const client = await this.pool.connect()
    try {
      await client.query(`SELECT pg_advisory_lock(0); ${this.sql.create}; SELECT pg_advisory_unlock(0)`)
    } finally {
      client.release()
    }
  }

  async _close(): Promise<void> {
    await Promise.all([this.pool.end(), this.snapshots.end()])
  }

  async _get(key: string, options: ReadOptions): Promise<string | undefined> {
    return (await this._getMany([key], options))[0]
  }

  async _getMany(keys: string[], options: ReadOptions): Promise<(string | undefined)[]> {
    const rows = await this.read(options.snapshot, this.sql.get(keys.map(toBytes)))
    const found = new Map(rows.map(([key, value]) => [key.toString('utf8'), value]))
    return keys.map((key) => found.get(key))
  }

  async _put(key: string, value: string): Promise<void> {
    await this._batch([{ type: 'put', key, value }])
  }

  async _del(key: string): Promise<void> {
    await this._batch([{ type: 'del', key }])
  }

  /** One statement, so one round trip and atomic: the deletes and the upserts of the last op on each key. */
  async _batch(operations: { type: 'put' | 'del'; key: string; value?: string }[]): Promise<void> {
    const last = new Map<string, string | undefined>()
    for (const op of operations) last.set(op.key, op.type === 'put' ? op.value! : undefined)
    const dels: Buffer[] = []
    const putKeys: Buffer[] = []
    const putValues: string[] = []
    for (const [key, value] of last) {
      if (value === undefined) dels.push(toBytes(key))
      else {
        putKeys.push(toBytes(key))
        putValues.push(value)
      }
    }
    await this.pool.query(this.sql.batch(dels, putKeys, putValues))
  }

  async _clear(options: Bounds & { limit: number }): Promise<void> {
    await this.pool.query(this.sql.clear(options, options.limit === -1 ? null : options.limit))
  }

  _iterator(options: IteratorOptions & { values: boolean }) {
    return new PgIterator(this, options)
  }

  _snapshot(options: object): PgSnapshot {
    return new PgSnapshot(this.snapshots, options)
  }

  /** Rows of a range, `size` at most, from `after` on (exclusive), on a snapshot's connection when given. */
  async readRange(bounds: Bounds, size: number, after: Buffer | undefined, snapshot: PgSnapshot | undefined): Promise<Row[]> {
    const resumed: Bounds = after === undefined ? bounds : bounds.reverse ? { ...bounds, lt: after, lte: undefined } : { ...bounds, gt: after, gte: undefined }
    return this.read(snapshot, this.sql.range(resumed, size))
  }

  private async read(snapshot: PgSnapshot | undefined, query: Query): Promise<Row[]> {
    const config = { ...query, rowMode: 'array' as const }
    const result = snapshot ? await snapshot.query<Row>(config) : await this.pool.query<Row>(config)
    return result.rows
  }
}

/** A REPEATABLE READ transaction on a connection of its own: every read on it sees the database as it was when it began. */
export class PgSnapshot extends AbstractSnapshot {
  /** The connection, once its transaction has taken its snapshot. */
  private readonly client: Promise<pg.PoolClient>

  /** `options` are abstract-level's (they name the snapshot's owner). */
  constructor(pool: pg.Pool, options: object) {
    // @ts-expect-error abstract-level's types leave out the options its constructor takes
    super(options)
    this.client = pool.connect().then(async (client) => {
      try {
        // The snapshot is taken by the transaction's first query.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1')
        return client
      } catch (error) {
        client.release(error as Error)
        throw error
      }
    })
    this.client.catch(() => undefined)
  }

  async query<R extends unknown[]>(config: pg.QueryArrayConfig): Promise<pg.QueryArrayResult<R>> {
    return (await this.client).query<R>(config)
  }

  async _close(): Promise<void> {
    const client = await this.client.catch(() => undefined)
    if (!client) return
    try {
      await client.query('COMMIT')
      client.release()
    } catch (error) {
      client.release(error as Error)
    }
  }
}

/** Reads a range a page at a time, resuming after the last key it returned. */
class RangeReader {
  private after: Buffer | undefined
  private ended = false
  private buffered: Row[] = []

  constructor(
    private readonly db: PgLevel,
    private readonly options: IteratorOptions,
  ) {}

  /** Up to `size` rows; none at the end. */
  async next(size: number): Promise<Row[]> {
    if (this.buffered.length > 0) return this.buffered.splice(0, size)
    if (this.ended) return []
    const rows = await this.db.readRange(this.options, size, this.after, this.options.snapshot)
    if (rows.length < size) this.ended = true
    if (rows.length > 0) this.after = rows.at(-1)![0]
    return rows
  }

  /** One row, read a page at a time. */
  async one(): Promise<Row | undefined> {
    if (this.buffered.length === 0) this.buffered = await this.next(PAGE)
    return this.buffered.shift()
  }

  /** Every remaining row, at most `max`. */
  async all(max: number): Promise<Row[]> {
    const rows: Row[] = []
    for (;;) {
      const page = await this.next(Math.min(PAGE, max - rows.length))
      rows.push(...page)
      if (page.length === 0 || rows.length >= max) return rows
    }
  }
}

const remaining = (it: { limit: number; count: number }) => (it.limit === Infinity ? Infinity : it.limit - it.count)
const entryOf = ([key, value]: Row): [string, string] => [key.toString('utf8'), value as string]

/** Entries of a range; abstract-level's key and value iterators read through it (keys alone read no values). */
class PgIterator extends AbstractIterator<PgLevel, string, string> {
  private readonly reader: RangeReader
  constructor(db: PgLevel, options: IteratorOptions & { values: boolean }) {
    super(db, options as never)
    this.reader = new RangeReader(db, options)
  }
  async _next() {
    const row = await this.reader.one()
    return row && entryOf(row)
  }
  async _nextv(size: number) {
    return (await this.reader.next(size)).map(entryOf)
  }
  async _all() {
    return (await this.reader.all(remaining(this))).map(entryOf)
  }
}

function toBytes(key: string): Buffer {
  return Buffer.from(key, 'utf8')
}

/** Session settings of every connection: who it is, and whether commits wait for the disk. */
function withSession(connection: pg.ClientConfig, fsync: boolean): pg.ClientConfig {
  const settings = `-c synchronous_commit=${fsync ? 'on' : 'off'}`
  return { application_name: 'localbot', ...connection, options: [connection.options, settings].filter(Boolean).join(' ') }
}
