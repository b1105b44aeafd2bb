/** The rows, in the order: name → module (loaded only when run). */
import type { Row } from '../row.ts'

export const rowNames = ['state-write', 'state-read', 'dispatch', 'fsync', 'http', 'list-page', 'expiry-memory', 'startup', 'pg-dispatch'] as const

/** Loads one row's module. */
export async function loadRow(name: string): Promise<Row> {
  const module = (await import(`./${name}.ts`)) as { row: Row }
  return module.row
}
