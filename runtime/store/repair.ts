/**
 * `npm run repair -- DIR`: copies a damaged data folder aside, then lets LevelDB's RepairDB rebuild it from
 * the tables and logs it still has, and says what was kept. Stop localbot first (RepairDB takes no lock, so
 * this refuses a folder in use).
 */
import { cp, readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { systemClock } from '../time/clock.ts'
import { openDataFolder, refuseIfInUse } from './open.ts'

/** What a repair did: where the copy is and how many keys the repaired database holds. */
export type RepairReport = { backup: string; keys: number }

/**
 * Copies `location` to `<location>.backup-<time>`, runs LevelDB's RepairDB on it (files it cannot use go
 * to `<location>/lost`), opens it to check, and tells `log` each step.
 */
export async function repairDataFolder(location: string, log: (line: string) => void): Promise<RepairReport> {
  const folder = await stat(location).catch(() => undefined)
  if (!folder?.isDirectory()) throw new Error(`there is no data folder at ${location}: nothing to repair.`)
  await refuseIfInUse(location)
  const backup = `${location}.backup-${new Date(systemClock.now()).toISOString().replaceAll(':', '-')}`
  await cp(location, backup, { recursive: true, errorOnExist: true, force: false })
  log(`copied ${location} to ${backup}`)
  await ClassicLevel.repair(location)
  // RepairDB writes what it found to the folder's fresh info log, one line per log, table and lost file.
  for (const line of (await readFile(join(location, 'LOG'), 'utf8').catch(() => '')).split('\n')) {
    const said = line.replace(/^\S+ \S+ /, '').trim()
    if (said) log(`LevelDB: ${said}`)
  }
  const db = await openDataFolder(location)
  try {
    const keys = (await db.keys().all()).length
    log(`${location} opens again, with ${keys} keys`)
    return { backup, keys }
  } finally {
    await db.close()
  }
}

const script = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href
if (script) {
  const location = process.argv[2]
  if (location === undefined || process.argv.length > 3) {
    process.stderr.write('usage: npm run repair -- DATA_FOLDER\n')
    process.exit(2)
  }
  try {
    await repairDataFolder(resolve(location), (line) => process.stdout.write(line + '\n'))
  } catch (error) {
    process.stderr.write(`localbot repair: ${(error as Error).message}\n`)
    process.exit(1)
  }
}
