/** The rows, in the order: name → module (loaded only when run). */
import type { Row } from '../row.ts'

export const rowNames = [
  'state-write',
  'state-read',
  'dispatch',
  'fsync',
  'http',
  'list-page',
  'expiry-memory',
  'startup',
  'peer-grammy-level-1',
  'peer-grammy-level-10',
  'peer-grammy-level-http',
  'peer-sqlite-1',
  'peer-sqlite-10',
  'peer-sqlite-http',
  'peer-sqlite-fsync',
  'sdk-ceiling',
  'peer-start',
  'peer-rss',
  'pg-dispatch',
] as const

/** Rows that take longer than the others, and how long they may take (ms) by mode. */
export const rowLimits: Partial<Record<(typeof rowNames)[number], { quick: number; full: number }>> = {
  // Three servers, each sent 100,000 messages (20,000 in a quick run).
  'peer-rss': { quick: 180_000, full: 900_000 },
  // A PostgreSQL server, and 1 then 3 localbot processes over it, against LevelDB.
  'pg-dispatch': { quick: 180_000, full: 600_000 },
}

/** The modules that hold several rows (`rows`), by the prefix of their rows' names; any other row is `./NAME.ts`'s `row`. */
const shared = [
  { prefix: 'peer-start', file: 'peer-process' },
  { prefix: 'peer-rss', file: 'peer-process' },
  { prefix: 'peer-', file: 'peers' },
]

/** Loads one row's module. */
export async function loadRow(name: string): Promise<Row> {
  const file = shared.find((s) => name.startsWith(s.prefix))?.file ?? name
  const module = (await import(`./${file}.ts`)) as { row?: Row; rows?: Row[] }
  const row = module.row ?? module.rows?.find((r) => r.name === name)
  if (row === undefined) throw new Error(`bench: ${file}.ts has no row ${name}`)
  return row
}
