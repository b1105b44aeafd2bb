import { randomBytes, randomInt } from 'node:crypto'
import pg from 'pg'
import type { Table } from './sql.ts'

/**
 * The localbot processes on one database, each known by a row and alive while it holds its lease: a
 * session advisory lock on a connection of its own. A process that dies (SIGKILL, a crash, a lost
 * network) loses that connection and so its lease, and the next `adoptDead` of a live process takes its
 * row: that process then runs the work the dead one left unfinished (see Runtime's replay).
 */
export class ProcessLease {
  readonly id = randomBytes(6).toString('hex')
  private readonly lease = randomInt(1, 2 ** 31 - 1)

  private constructor(
    private readonly client: pg.Client,
    private readonly table: string,
    /** The advisory lock class of this store's leases (two-key advisory locks, apart from AdvisoryLocks' one-key ones). */
    private readonly space: number,
  ) {}

  /** Joins the database's processes: takes a lease and registers it. */
  static async start(connection: pg.ClientConfig, store: Table, space: number): Promise<ProcessLease> {
    const client = new pg.Client(connection)
    // The lease lives as long as this connection: a dropped one is the process's end as far as the others know.
    client.on('error', () => undefined)
    await client.connect()
    const table = `${store.schema}.${store.name}_processes`
    const lease = new ProcessLease(client, table, space)
    await client.query(`SELECT pg_advisory_lock(0); CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, lease integer NOT NULL, started timestamptz NOT NULL DEFAULT now()); SELECT pg_advisory_unlock(0)`)
    await client.query(`SELECT pg_advisory_lock($1, $2)`, [space, lease.lease])
    await client.query(`INSERT INTO ${table} (id, lease) VALUES ($1, $2)`, [lease.id, lease.lease])
    return lease
  }

  /**
   * Takes the rows of processes that died (their lease is free): each dead process is adopted by exactly
   * one live one, which runs what it left unfinished. `others` counts the live processes besides this one.
   */
  async adoptDead(): Promise<{ adopted: string[]; others: number }> {
    const dead = await this.client.query<{ id: string }>(
      `DELETE FROM ${this.table} WHERE id <> $1 AND pg_try_advisory_xact_lock($2, lease) RETURNING id`,
      [this.id, this.space],
    )
    const live = await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table} WHERE id <> $1`, [this.id])
    return { adopted: dead.rows.map((row) => row.id), others: Number(live.rows[0]!.n) }
  }

  /** Leaves: its row goes, and the lease with the connection. */
  async end(): Promise<void> {
    await this.client.query(`DELETE FROM ${this.table} WHERE id = $1`, [this.id]).catch(() => undefined)
    await this.client.end().catch(() => undefined)
  }
}
