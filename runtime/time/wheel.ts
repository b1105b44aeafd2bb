/**
 * A hashed timing wheel (Varghese & Lauck, "Hashed and Hierarchical Timing Wheels", 1987): `size`
 * slots of `tickMs` each, so the wheel spans `size * tickMs` ms ahead of its cursor. Add and cancel
 * are O(1); taking what is due walks only the slots the clock has passed. Entries further ahead than
 * the span are the caller's to keep elsewhere (the store's index) until they come within reach.
 */
export class TimerWheel {
  private readonly slots: (Map<string, number> | undefined)[]
  /** Slot index of every entry, for O(1) cancel. */
  private readonly slotOf = new Map<string, number>()
  /** The absolute tick the cursor stands on: every entry due before it has been taken. */
  private cursor: number

  constructor(
    now: number,
    readonly tickMs = 1000,
    readonly size = 4096,
  ) {
    this.slots = new Array(size)
    this.cursor = Math.floor(now / tickMs)
  }

  /** How many entries wait. */
  get count(): number {
    return this.slotOf.size
  }

  /** The first time past the wheel's reach: entries must be due before it. */
  get reach(): number {
    return (this.cursor + this.size) * this.tickMs
  }

  /** Adds (or moves) an entry due at `at` ms; one already due lands in the current slot. */
  add(key: string, at: number): void {
    if (at >= this.reach) throw new RangeError(`due at ${at}, beyond the wheel's reach ${this.reach}`)
    this.cancel(key)
    const index = Math.max(Math.floor(at / this.tickMs), this.cursor) % this.size
    let slot = this.slots[index]
    if (!slot) slot = this.slots[index] = new Map()
    slot.set(key, at)
    this.slotOf.set(key, index)
  }

  /** Removes an entry; true if it was there. */
  cancel(key: string): boolean {
    const index = this.slotOf.get(key)
    if (index === undefined) return false
    const slot = this.slots[index]!
    slot.delete(key)
    if (slot.size === 0) this.slots[index] = undefined
    this.slotOf.delete(key)
    return true
  }

  /** Whether an entry waits. */
  has(key: string): boolean {
    return this.slotOf.has(key)
  }

  /** Removes and returns every entry due at or before `now`, earliest first (ties by key). */
  takeDue(now: number): { key: string; at: number }[] {
    const due: { key: string; at: number }[] = []
    const last = Math.floor(now / this.tickMs)
    // Past a whole turn every slot is visited once; the cursor then jumps.
    const steps = Math.min(last - this.cursor, this.size - 1)
    for (let step = 0; step <= steps; step++) {
      const index = (this.cursor + step) % this.size
      const slot = this.slots[index]
      if (!slot) continue
      for (const [key, at] of slot) {
        if (at <= now) {
          due.push({ key, at })
          slot.delete(key)
          this.slotOf.delete(key)
        }
      }
      if (slot.size === 0) this.slots[index] = undefined
    }
    if (last > this.cursor) this.cursor = last
    return due.sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /** Removes and returns the latest entry (to make room for an earlier one). O(size) at worst. */
  evictLatest(): { key: string; at: number } | undefined {
    for (let step = this.size - 1; step >= 0; step--) {
      const slot = this.slots[(this.cursor + step) % this.size]
      if (!slot) continue
      let latest: { key: string; at: number } | undefined
      for (const [key, at] of slot) if (!latest || at > latest.at) latest = { key, at }
      this.cancel(latest!.key)
      return latest
    }
    return undefined
  }

  /** The earliest due time in the wheel, if any. O(size) at worst. */
  nextAt(): number | undefined {
    for (let step = 0; step < this.size; step++) {
      const slot = this.slots[(this.cursor + step) % this.size]
      if (!slot) continue
      let earliest = Infinity
      for (const at of slot.values()) earliest = Math.min(earliest, at)
      return earliest
    }
    return undefined
  }
}
