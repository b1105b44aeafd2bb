/**
 * The one clock. Everything that asks for the time asks a Clock; tests and `--virtual-clock`
 * swap in a VirtualClock. Times are milliseconds since the epoch.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => Date.now() }

/** A clock that moves only when told. */
export class VirtualClock implements Clock {
  constructor(private current: number = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`cannot move the clock back: ${ms}`)
    this.current += ms
    return this.current
  }

  /** Sets the time, forward only. */
  set(ms: number): void {
    this.advance(ms - this.current)
  }
}
