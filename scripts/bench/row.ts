/** What every row module exports, and what a measured row reports. */

/** How long a run may take: `--quick` (under two minutes in all) or the full run (under ten). */
export type Mode = 'quick' | 'full'

/** A target: the ratio (or, for absolute rows, the value) against a bound. */
export type Target = { on: 'ratio' | 'value'; op: '>=' | '<='; bound: number }

/** One line of the table, and one JSON object of `--json`. */
export type Result = {
  name: string
  /** localbot's median. */
  value: number
  unit: string
  /** The baseline's median, in the same unit; null for rows with an absolute target. */
  baseline: number | null
  /** value / baseline. */
  ratio: number | null
  /** The target as text, e.g. `ratio >= 0.5` or `<= 150 bytes/entry`. */
  target: string
  met: boolean
  /** What the baseline is and how the row was run (the table's notes; not in `--json`). */
  note?: string
}

/** A row module: `run` measures and returns one or more results. */
export type Row = { name: string; run(mode: Mode): Promise<Result[]> }

/** Builds a result, deciding `met` from the target. */
export function result(fields: { name: string; value: number; unit: string; baseline?: number; target: Target; note?: string }): Result {
  const baseline = fields.baseline ?? null
  const ratio = baseline === null ? null : fields.value / baseline
  const { on, op, bound } = fields.target
  const measured = on === 'ratio' ? ratio! : fields.value
  const met = op === '>=' ? measured >= bound : measured <= bound
  const target = on === 'ratio' ? `ratio ${op} ${bound}` : `${op} ${bound} ${fields.unit}`
  return { name: fields.name, value: fields.value, unit: fields.unit, baseline, ratio, target, met, note: fields.note }
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** A percentile (0..100) of some numbers, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
