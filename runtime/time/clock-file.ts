import { randomBytes } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Which clock a data folder's records were written under, kept beside them: a folder run on the virtual clock
 * keeps that clock's time, so that a restart goes on from it (never back in time, where new records would sort
 * before old ones), and a folder is never used with the other clock without saying so.
 */

/** What the file holds. */
export type ClockRecord = { clock: 'real' } | { clock: 'virtual'; now: string }

/** The file, in the data folder. */
export const CLOCK_FILE = 'localbot-clock.json'

/** A data folder opened with the other clock than the one its records were written under: one sentence, what to do. */
export class ClockMismatchError extends Error {}

async function readRecord(dataDir: string): Promise<ClockRecord | undefined> {
  let text: string
  try {
    text = await readFile(join(dataDir, CLOCK_FILE), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const record = JSON.parse(text) as ClockRecord
  if (record.clock === 'virtual' && !Number.isFinite(Date.parse(record.now))) throw new Error(`${join(dataDir, CLOCK_FILE)}: no valid time`)
  return record
}

/** Writes the record whole or not at all (a temporary file renamed over it). */
export async function writeClockRecord(dataDir: string, record: ClockRecord): Promise<void> {
  const file = join(dataDir, CLOCK_FILE)
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(temporary, JSON.stringify(record) + '\n')
  await rename(temporary, file)
}

/**
 * Checks a data folder against the clock asked for and marks it: raises ClockMismatchError when its records
 * were written under the other clock; on the virtual clock, resolves with the time to start at (the saved
 * time, else `realNow`).
 */
export async function claimClock(dataDir: string, virtual: boolean, realNow: number): Promise<{ start: number }> {
  const record = await readRecord(dataDir)
  if (record?.clock === 'virtual' && !virtual)
    throw new ClockMismatchError(
      `the data folder ${dataDir} was written under the virtual clock (its time is ${record.now}): run with --virtual-clock to go on with it, or give another --data for real time`,
    )
  if (record?.clock === 'real' && virtual)
    throw new ClockMismatchError(
      `the data folder ${dataDir} was written under the real clock: the virtual clock would mix its times with real ones; give another --data (for instance ${dataDir}-virtual)`,
    )
  if (!virtual) {
    if (!record) await writeClockRecord(dataDir, { clock: 'real' })
    return { start: realNow }
  }
  const start = record?.clock === 'virtual' ? Date.parse(record.now) : realNow
  if (!record) await writeClockRecord(dataDir, { clock: 'virtual', now: new Date(start).toISOString() })
  return { start }
}
