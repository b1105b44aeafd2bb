import { median } from './row.ts'

/** How many rounds: warm-up rounds are run and dropped. */
export type Rounds = { warmup: number; rounds: number }

/**
 * Runs localbot's side and the baseline's side alternately, `warmup` rounds then `rounds` measured
 * ones, swapping which goes first every round so that drift of a shared machine falls on both.
 * Each side returns its measure of one round; the medians come back.
 */
export async function alternate(
  rounds: Rounds,
  local: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<{ local: number; baseline: number; locals: number[]; baselines: number[] }> {
  const [locals, baselines] = await alternateAll(rounds, [local, baseline])
  return { local: median(locals!), baseline: median(baselines!), locals: locals!, baselines: baselines! }
}

/**
 * `alternate` for any number of sides: each round runs every side once, the round's first side moving
 * on by one each round. Returns each side's measured rounds, in the order the sides were given.
 */
export async function alternateAll({ warmup, rounds }: Rounds, sides: (() => Promise<number>)[]): Promise<number[][]> {
  const measured = sides.map((): number[] => [])
  for (let round = 0; round < warmup + rounds; round++) {
    for (let k = 0; k < sides.length; k++) {
      const side = (round + k) % sides.length
      const value = await sides[side]!()
      if (round >= warmup) measured[side]!.push(value)
    }
  }
  return measured
}

/**
 * Runs `op(i)` awaited one after another, at most `count` times and for at most `maxMs`, and returns
 * the rate in operations per second.
 */
export async function opsPerSecond(count: number, maxMs: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now()
  const deadline = start + maxMs
  let done = 0
  while (done < count) {
    await op(done)
    done++
    if ((done & 63) === 0 && performance.now() > deadline) break
  }
  return done / ((performance.now() - start) / 1000)
}

/**
 * `opsPerSecond` with `inFlight` calls pending at once: each of `inFlight` workers awaits one call, then
 * starts the next `op(i)`, until `count` have started or `maxMs` has run out.
 */
export async function opsPerSecondInFlight({ count, maxMs, inFlight }: { count: number; maxMs: number; inFlight: number }, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now()
  const deadline = start + maxMs
  let started = 0
  const worker = async () => {
    while (started < count && performance.now() < deadline) await op(started++)
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return started / ((performance.now() - start) / 1000)
}

/** Runs `op` `count` times awaited (bounded by `maxMs`) and returns the median time of one, in ms. */
export async function medianMs(count: number, maxMs: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const times: number[] = []
  const deadline = performance.now() + maxMs
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    await op(i)
    times.push(performance.now() - start)
    if (performance.now() > deadline) break
  }
  return median(times)
}
