import { createHash } from 'node:crypto'
import pg from 'pg'
import { isDatabaseUrl, Store, type StoreOptions } from '../store.ts'
import { PgLevel } from './level.ts'
import { AdvisoryLocks } from './locks.ts'
import { ProcessLease } from './processes.ts'
import { tableOf, type Table } from './sql.ts'

/** Connections one process keeps for store.hold's locks, and for turns (a conversation's handlers hold one each). */
const HOLD_CONNECTIONS = 8
const TURN_CONNECTIONS = 16

/** A URL without its password, for messages. */
export function redacted(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(an unreadable URL)'
  }
}

/** The server to reach and the table to use: `?schema=NAME` (default `public`) picks where the table lives. */
export function parseDatabaseUrl(url: string): { connection: pg.ClientConfig; table: Table } {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error(`not a URL: give postgres://USER:PASSWORD@HOST:PORT/DATABASE`)
  }
  if (!isDatabaseUrl(url)) throw new Error(`${parsed.protocol} is not postgres: give postgres://USER:PASSWORD@HOST:PORT/DATABASE`)
  const schema = parsed.searchParams.get('schema') ?? 'public'
  parsed.searchParams.delete('schema')
  return { connection: { connectionString: parsed.toString() }, table: tableOf(schema) }
}

/**
 * Opens the store on PostgreSQL: the table (created if missing), the locks and turns that hold across
 * processes, and this process's lease among the database's processes. Any failure is one sentence naming
 * the URL (without its password) and the cause.
 */
export async function openPostgres(url: string, options: StoreOptions = {}): Promise<Store> {
  let db: PgLevel | undefined
  let lease: ProcessLease | undefined
  try {
    const { connection, table } = parseDatabaseUrl(url)
    db = new PgLevel({ connection, table, fsync: options.fsync })
    await db.open()
    const space = `${table.schema}.${table.name}`
    lease = await ProcessLease.start(connection, table, createHash('sha256').update(space).digest().readInt32BE(0))
    const holds = new pg.Pool({ ...connection, max: HOLD_CONNECTIONS })
    const turns = new pg.Pool({ ...connection, max: TURN_CONNECTIONS })
    for (const pool of [holds, turns]) pool.on('error', () => undefined)
    const joined = lease
    return new Store(db, options, {
      locks: new AdvisoryLocks(holds, `${space}:hold`),
      turns: new AdvisoryLocks(turns, `${space}:turn`),
      maxWalks: db.maxSnapshots,
      adoptDead: () => joined.adoptDead(),
      async close() {
        await joined.end()
        await Promise.all([holds.end(), turns.end()])
      },
    })
  } catch (error) {
    await lease?.end()
    await db?.close().catch(() => undefined)
    throw new Error(`cannot open the PostgreSQL store ${redacted(url)}: ${reasonOf(error)}`, { cause: error })
  }
}

/** The innermost message of an error (abstract-level wraps the driver's in LEVEL_DATABASE_NOT_OPEN). */
function reasonOf(error: unknown): string {
  let e = error as { message?: string; cause?: unknown; code?: string }
  while (e.cause) e = e.cause as typeof e
  const message = e.message || e.code || String(e)
  return e.code === 'ECONNREFUSED' ? `nothing answers there (${message}); is the server running?` : message
}
