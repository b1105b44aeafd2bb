import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { StateDefinition } from '../client/index.ts'
import type { Registration } from '../sdk/bot.ts'
import type { BotDefinition } from '../sdk/definition.ts'
import type { Clock } from '../time/clock.ts'
import { CompileError, loadModule } from './compile.ts'

/** What the runtime needs of a bot object. */
export type BotLike = { registrations: Registration[]; handlersFor(kind: Registration['kind'], key: string): Registration[] }

/** A bot folder, loaded. */
export type LoadedBot = {
  id: string
  dir: string
  entry: string
  bot: BotLike
  definition?: BotDefinition<any, any>
  /** The definition's states, as the client takes them. */
  states: Record<string, StateDefinition>
  /** Definition parts given that localbot does not run. */
  ignored: string[]
}

/** A bot folder that failed to load: which file (and line, for a compile error), and why. */
export class BotLoadError extends Error {
  readonly line?: number
  readonly column?: number

  constructor(readonly botId: string, readonly file: string, options: { cause: unknown }) {
    const cause = options.cause
    const place = cause instanceof CompileError ? `${cause.file}:${cause.line}:${cause.column}` : file
    super(`bot ${botId}: ${place}: ${(cause as Error)?.message ?? String(cause)}`, options)
    this.name = 'BotLoadError'
    if (cause instanceof CompileError) {
      this.file = cause.file
      this.line = cause.line
      this.column = cause.column
    }
  }
}

/** A bot folder on disk. */
export type BotFolder = { id: string; dir: string }

/** The bot folders of a bots folder: every folder whose name does not start with `.` or `_`. */
export async function findBotFolders(botsDir: string): Promise<BotFolder[]> {
  const entries = await readdir(botsDir, { withFileTypes: true })
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_') && e.name !== 'node_modules')
    .map((e) => ({ id: e.name, dir: resolve(botsDir, e.name) }))
    .sort((a, b) => (a.id < b.id ? -1 : 1))
}

/** The entry file of a bot folder: `index.ts` or `src/index.ts`. */
export function entryOf(dir: string): string | undefined {
  return ['index.ts', join('src', 'index.ts')].map((f) => join(dir, f)).find((f) => existsSync(f))
}

/** The definition file of a bot folder, if any. */
export function definitionFileOf(dir: string): string | undefined {
  return ['bot.definition.ts', join('src', 'bot.definition.ts')].map((f) => join(dir, f)).find((f) => existsSync(f))
}

function isBot(value: unknown): value is BotLike {
  return typeof value === 'object' && value !== null && Array.isArray((value as BotLike).registrations) && typeof (value as BotLike).handlersFor === 'function'
}

async function importDefault(file: string, clock: Clock): Promise<unknown> {
  return (await loadModule(file, clock)).default
}

/** Loads one bot folder: its definition (optional) and its bot. Raises BotLoadError naming the file. */
export async function loadBot(folder: BotFolder, clock: Clock): Promise<LoadedBot> {
  const definitionFile = definitionFileOf(folder.dir)
  let definition: BotDefinition<any, any> | undefined
  if (definitionFile) {
    try {
      definition = (await importDefault(definitionFile, clock)) as BotDefinition<any, any>
    } catch (cause) {
      throw new BotLoadError(folder.id, definitionFile, { cause })
    }
    if (!definition || typeof definition !== 'object' || !('states' in definition))
      throw new BotLoadError(folder.id, definitionFile, { cause: new Error('the default export is not a BotDefinition') })
  }
  const entry = entryOf(folder.dir)
  if (!entry) throw new BotLoadError(folder.id, join(folder.dir, 'index.ts'), { cause: new Error('no index.ts or src/index.ts') })
  let bot: unknown
  try {
    bot = await importDefault(entry, clock)
  } catch (cause) {
    throw new BotLoadError(folder.id, entry, { cause })
  }
  if (!isBot(bot)) throw new BotLoadError(folder.id, entry, { cause: new Error('the default export is not a bot (new bp.Bot({ actions: {} }))') })
  const states: Record<string, StateDefinition> = {}
  for (const [name, state] of Object.entries(definition?.states ?? {}) as [string, StateDefinition][]) states[name] = state
  return { id: folder.id, dir: folder.dir, entry, bot, definition, states, ignored: definition?.unsupportedParts?.() ?? [] }
}

/** Loads bot folders; a bot that fails is returned as a failure and the others still load. */
export async function loadBots(folders: BotFolder[], clock: Clock): Promise<{ bots: LoadedBot[]; failures: BotLoadError[] }> {
  const bots: LoadedBot[] = []
  const failures: BotLoadError[] = []
  for (const folder of folders) {
    try {
      bots.push(await loadBot(folder, clock))
    } catch (error) {
      failures.push(error instanceof BotLoadError ? error : new BotLoadError(folder.id, folder.dir, { cause: error }))
    }
  }
  return { bots, failures }
}
