/**
 * Keyed async locks: work under one name runs one at a time, in call order.
 * The store is owned by one process (LevelDB's LOCK file), so in-process locks are enough to make a
 * read-check-batch sequence atomic.
 */
export class Locks {
  private tails = new Map<string, Promise<unknown>>()

  /** Runs `fn` once every earlier call under `name` has settled. */
  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name)
    const result = previous ? previous.then(fn, fn) : fn()
    const tail = result.then(
      () => undefined,
      () => undefined,
    )
    this.tails.set(name, tail)
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name)
    })
    return result
  }
}
