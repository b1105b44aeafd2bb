/** One read-write lock: shared holders together, or one exclusive holder; waiters are served in order. */
class RwLock {
  private readers = 0
  private writer = false
  private readonly queue: { exclusive: boolean; grant: () => void }[] = []

  /** Takes the lock at once if nobody holds it against `exclusive` and nobody waits; false otherwise. */
  tryAcquire(exclusive: boolean): boolean {
    if (this.queue.length > 0 || this.writer || (exclusive && this.readers > 0)) return false
    if (exclusive) this.writer = true
    else this.readers++
    return true
  }

  acquire(exclusive: boolean): Promise<void> {
    return new Promise((grant) => {
      this.queue.push({ exclusive, grant })
      this.drain()
    })
  }

  release(exclusive: boolean): void {
    if (exclusive) this.writer = false
    else this.readers--
    this.drain()
  }

  get idle(): boolean {
    return this.readers === 0 && !this.writer && this.queue.length === 0
  }

  private drain(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0]!
      if (next.exclusive ? this.writer || this.readers > 0 : this.writer) return
      this.queue.shift()
      if (next.exclusive) this.writer = true
      else this.readers++
      next.grant()
    }
  }
}

/** The locks of a set in name order, each once (alone if it is named both ways): the order every hold takes them in. */
function lockOrder(set: LockSet): [string, boolean][] {
  const order: [string, boolean][] = []
  for (const name of set.shared ?? []) order.push([name, false])
  for (const name of set.exclusive ?? []) order.push([name, true])
  if (order.length < 2) return order
  order.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] === b[1] ? 0 : a[1] ? -1 : 1))
  // Sorted, the alone entry of a name comes first: later entries of the same name go.
  return order.filter((entry, i) => i === 0 || order[i - 1]![0] !== entry[0])
}

/** A lock taken: the lock, its name, and whether alone. */
type Held = [RwLock, string, boolean]

/** Which locks a piece of work holds: names held shared and names held alone. */
export type LockSet = { shared?: string[]; exclusive?: string[] }

/** Runs work holding a set of locks: in this process (`Locks`), or across processes (postgres/locks.ts). */
export type LockService = { hold<T>(set: LockSet, fn: () => Promise<T>): Promise<T> }

/**
 * Keyed read-write locks in this process. A LevelDB store is owned by one process (its LOCK file), so
 * these are enough to make a read-check-batch sequence atomic; on PostgreSQL, AdvisoryLocks takes the
 * server's locks on top of them. Work takes all its locks in name order, so two
 * pieces of work never wait for each other in a circle.
 */
export class Locks implements LockService {
  private readonly locks = new Map<string, RwLock>()

  /** Runs `fn` holding `name` alone, once every earlier holder is done. */
  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.hold({ exclusive: [name] }, fn)
  }

  /** Runs `fn` holding every lock of `set`. */
  hold<T>(set: LockSet, fn: () => Promise<T>): Promise<T> {
    const order = lockOrder(set)
    const held: Held[] = []
    for (const [name, exclusive] of order) {
      let lock = this.locks.get(name)
      if (!lock) this.locks.set(name, (lock = new RwLock()))
      // A lock someone holds: wait for it, and for the rest in order.
      if (!lock.tryAcquire(exclusive)) return this.holdWaiting(order.slice(held.length), held, fn)
      held.push([lock, name, exclusive])
    }
    // Every lock was free (most holds meet no other holder): no promise of our own, no await. Each one also
    // costs the async hooks of the supervisor's context.
    let work: Promise<T>
    try {
      work = Promise.resolve(fn())
    } catch (error) {
      this.release(held)
      return Promise.reject(error)
    }
    return work.then(
      (value) => {
        this.release(held)
        return value
      },
      (error: unknown) => {
        this.release(held)
        throw error
      },
    )
  }

  /** `hold` once a lock was taken: waits for the rest, in order, then runs `fn`. */
  private async holdWaiting<T>(rest: [string, boolean][], held: Held[], fn: () => Promise<T>): Promise<T> {
    try {
      for (const [name, exclusive] of rest) {
        let lock = this.locks.get(name)
        if (!lock) this.locks.set(name, (lock = new RwLock()))
        if (!lock.tryAcquire(exclusive)) await lock.acquire(exclusive)
        held.push([lock, name, exclusive])
      }
      return await fn()
    } finally {
      this.release(held)
    }
  }

  /** Lets go of held locks, last taken first. */
  private release(held: Held[]): void {
    for (let i = held.length - 1; i >= 0; i--) {
      const [lock, name, exclusive] = held[i]!
      lock.release(exclusive)
      if (lock.idle) this.locks.delete(name)
    }
  }
}
