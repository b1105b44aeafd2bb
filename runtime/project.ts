import { stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { definitionFileOf, entryOf, findBotFolders, type BotFolder } from './bots/loader.ts'
import type { Flags } from './flags.ts'

/** What one run loads: a folder of bots, or one bot folder (its parent is not scanned, and its id is its folder's name). */
export type Project = {
  botsDir: string
  /** Only these bot folders (a DIR that is one bot); else every bot folder of `botsDir`. */
  folders?: BotFolder[]
  /** One line saying what DIR turned out to be; none for `--bots`, which says what it is already. */
  summary?: string
}

/** Whether a folder is one bot rather than a folder of bots: it has a definition or an entry file (`bp init` makes both). */
export function isBotFolder(dir: string): boolean {
  return definitionFileOf(dir) !== undefined || entryOf(dir) !== undefined
}

/**
 * What `--bots DIR` or DIR names. DIR is one bot when it has `bot.definition.ts`, `index.ts` or `src/index.ts`,
 * else a folder of bots (whose `.localbot` data folder and `node_modules` are never bots: see findBotFolders).
 * Raises an Error in one sentence when DIR is neither.
 */
export async function findProject(run: Flags['run']): Promise<Project> {
  if ('bots' in run) return { botsDir: resolve(run.bots) }
  const dir = resolve(run.dir)
  const isFolder = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  )
  if (!isFolder) throw new Error(`${run.dir} is not a folder: give a bot's folder or a folder of bots`)
  if (isBotFolder(dir)) {
    const id = basename(dir)
    return { botsDir: dirname(dir), folders: [{ id, dir }], summary: `one bot, ${id}, in ${dir}` }
  }
  const ids = (await findBotFolders(dir)).map((f) => f.id)
  if (ids.length === 0)
    throw new Error(`${dir} is neither a bot (no bot.definition.ts, index.ts or src/index.ts) nor a folder of bots (no folder in it holds one)`)
  return { botsDir: dir, summary: `a folder of ${ids.length} bot${ids.length === 1 ? '' : 's'} (${ids.join(', ')}) in ${dir}` }
}
