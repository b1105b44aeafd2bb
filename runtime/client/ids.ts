import { randomFillSync } from 'node:crypto'
import type { Clock } from '../time/clock.ts'

/** Makes record ids. */
export type IdGenerator = (prefix: string) => string

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

// Random bytes are drawn 4 KiB at a time: one randomFillSync per id cost 3% of a message's handling.
const pool = Buffer.alloc(4096)
let poolAt = pool.length

function randomDigits(count: number): number[] {
  if (poolAt + count > pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  const digits = [...pool.subarray(poolAt, poolAt + count)].map((b) => b & 31)
  poolAt += count
  return digits
}

/**
 * ULID-like ids (`conv_01J...`): 10 characters of clock time then 16 of randomness, increasing
 * within one process, so ids made later sort later even within one millisecond.
 */
export function idGenerator(clock: Clock): IdGenerator {
  let lastTime = -1
  let lastRandom: number[] = []
  return (prefix) => {
    const time = clock.now()
    if (time === lastTime) {
      increment(lastRandom)
    } else {
      lastTime = time
      lastRandom = randomDigits(16)
      lastRandom[0] = 0 // leaves room to increment within one millisecond
    }
    let encodedTime = ''
    for (let t = time, i = 0; i < 10; i++, t = Math.floor(t / 32)) encodedTime = alphabet[t % 32] + encodedTime
    return `${prefix}_${encodedTime}${lastRandom.map((d) => alphabet[d]).join('')}`
  }
}

function increment(digits: number[]): void {
  for (let i = digits.length - 1; i >= 0; i--) {
    if (digits[i]! < 31) {
      digits[i]!++
      return
    }
    digits[i] = 0
  }
}
