import { createHash } from 'node:crypto'
import pg from 'pg'
import { Locks, type LockService, type LockSet } from '../lock.ts'

/**
 * Keyed read-write locks held across every process on one database: PostgreSQL's advisory locks
 * (`pg_advisory_xact_lock` alone, `_shared` together), taken in one transaction that stays open on a
 * pooled connection until the work is done. The in-process locks are taken first, so a process sends at
 * most one waiter per name to the server; then the server's, in key order in every process, so two pieces
 * of work never wait for each other in a circle. A process that dies loses its connections, and with them
 * its locks: nobody waits for a dead holder. The pool bounds how many sets one process holds at once.
 */
export class AdvisoryLocks implements LockService {
  private readonly local = new Locks()

  /** `space` keeps the locks of one store apart from another's on the same server (tests run many). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly space: string,
  ) {}

  async hold<T>(set: LockSet, fn: () => Promise<T>): Promise<T> {
    return this.local.hold(set, async () => {
      const client = await this.pool.connect()
      try {
        await client.query(this.statement(set))
        return await fn()
      } finally {
        // Ending the transaction releases its locks; a connection that cannot is dropped, which releases them too.
        // Not awaited: the work is done, and whoever takes these locks next waits for the server to see the end.
        void client.query('COMMIT').then(
          () => client.release(),
          (error: Error) => client.release(error),
        )
      }
    })
  }

  /** `BEGIN` and the set's locks in key order, one statement each, sent as one query (one round trip). */
  private statement(set: LockSet): string {
    const wanted = new Map<bigint, boolean>()
    for (const name of set.shared ?? []) wanted.set(this.keyOf(name), false)
    // A name held alone wins over the same key held shared (two names of a set may share a key).
    for (const name of set.exclusive ?? []) wanted.set(this.keyOf(name), true)
    const order = [...wanted.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return ['BEGIN', ...order.map((key) => `SELECT pg_advisory_xact_lock${wanted.get(key) ? '' : '_shared'}(${key})`)].join('; ')
  }

  /** A lock name as the server's 64-bit key. */
  private keyOf(name: string): bigint {
    return createHash('sha256').update(this.space).update('\u0000').update(name).digest().readBigInt64BE(0)
  }
}
