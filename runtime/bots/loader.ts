import { existsSync, readFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { callNames, type StateDefinition } from '../client/index.ts'
import { extendBotClient } from '../host/client-extension.ts'
import type { ActionMock, ActionSource } from '../dispatch/actions.ts'
import type { Clock } from '../time/clock.ts'
import type { CompileCache } from './compile-cache.ts'
import { CompileError, loadModule, sdkFor, sdkVersionFor, type SdkModule } from './compile.ts'
import { generateBotpress } from './gen/index.ts'

/** A bot as Botpress's SDK builds it: what localbot calls and reads of it. */
export type SdkBot = {
  handler: (request: unknown, deps?: { client: unknown }) => Promise<unknown>
  messageHandlers: Record<string, unknown[] | undefined>
  eventHandlers: Record<string, unknown[] | undefined>
  stateExpiredHandlers: Record<string, unknown[] | undefined>
  actionHandlers: Record<string, unknown>
}

/** A definition as Botpress's SDK builds it: the parts localbot reads. */
export type SdkDefinition = {
  states?: Record<string, { type: StateDefinition['type']; schema?: StateDefinition['schema']; expiry?: number }>
  events?: Record<string, unknown>
  recurringEvents?: Record<string, RecurringEvent>
  integrations?: Record<string, { name: string; alias?: string; simulated?: boolean; configuration?: unknown; definition?: { actions?: Record<string, { output?: { schema?: unknown } }> } }>
  plugins?: Record<string, { name: string; alias?: string; simulated?: boolean; configuration?: unknown }>
  configuration?: { schema?: { safeParse(value: unknown): { success: boolean; data?: unknown } } }
  /** The definition's parts merged with its plugins' (their states, events and actions prefixed `alias#`). */
  withPlugins?: { states?: SdkDefinition['states']; recurringEvents?: Record<string, RecurringEvent> }
}

/** A cron-fired event of a definition (Botpress's `recurringEvents`, which `events.X.recurrence` becomes). */
export type RecurringEvent = { type: string; payload: Record<string, unknown>; schedule: { cron: string } }

/** The unit of a state's `expiry`: Botpress Cloud's milliseconds for a Botpress project, the reference page's seconds otherwise. */
export type ExpiryUnit = 'seconds' | 'ms'

/** A bot folder, loaded. */
export type LoadedBot = {
  id: string
  dir: string
  entry: string
  bot: SdkBot
  definition: SdkDefinition
  /** The definition's states, as the client takes them (expiry in `expiryUnit`). */
  states: Record<string, StateDefinition>
  expiryUnit: ExpiryUnit
  /** The version of the bot's `@botpress/sdk` (its own installed copy, else localbot's). */
  sdkVersion: string
  /**
   * The bot's configuration as handlers see it (`ctx.configuration`): what its schema makes of nothing, i.e. its
   * defaults. Botpress takes it from the dashboard; localbot has none.
   */
  configuration: Record<string, unknown>
  /** What answers its integrations' actions: its folder's mocks, its packages' output schemas. */
  actions: ActionSource
  /** Whether the bot's SDK builds its own client from `BP_API_URL` (before 7.x) rather than taking one. */
  clientFromEnv: boolean
  /** Cron schedules, with JSON payloads. */
  recurringEvents: Record<string, RecurringEvent>
  /** `bp_modules` packages that localbot simulates because `bp add` has not downloaded them. */
  simulated: string[]
  /** What happened to `.botpress/`: written by localbot, or left alone (and why). */
  generated: { written: boolean; reason?: string }
}

/**
 * Where a bot's code threw while loading, as `path:line:column` (its bundle's source map applied): the first
 * frame of the stack in a TypeScript or JavaScript file outside node_modules.
 */
// (import.meta.url, which the package's CommonJS build defines; import.meta.dirname it does not.)
const ownCode = resolve(dirname(fileURLToPath(import.meta.url)), '..') + '/'

function thrownAt(cause: unknown): string | undefined {
  const stack = (cause as Error | undefined)?.stack ?? ''
  for (const line of stack.split('\n')) {
    const frame = /^\s+at (?:.*? \()?(\/[^()]+?\.[cm]?[jt]s:\d+:\d+)\)?$/.exec(line)
    if (frame && !frame[1]!.includes('/node_modules/') && !frame[1]!.startsWith(ownCode)) return frame[1]
  }
  return undefined
}

/** A bot folder that failed to load: which file (and line, for a compile error), and why. */
export class BotLoadError extends Error {
  readonly line?: number
  readonly column?: number

  constructor(readonly botId: string, readonly file: string, options: { cause: unknown }) {
    const cause = options.cause
    const thrown = cause instanceof CompileError ? undefined : thrownAt(cause)
    const place = cause instanceof CompileError ? `${cause.file}:${cause.line}:${cause.column}` : (thrown ?? file)
    super(`bot ${botId}: ${place}: ${(cause as Error)?.message ?? String(cause)}`, options)
    this.name = 'BotLoadError'
    if (cause instanceof CompileError) {
      this.file = cause.file
      this.line = cause.line
      this.column = cause.column
    } else if (thrown) {
      const [, path, line, column] = /^(.*):(\d+):(\d+)$/.exec(thrown)!
      this.file = path!
      this.line = Number(line)
      this.column = Number(column)
    }
  }
}

/** A bot folder on disk. */
export type BotFolder = { id: string; dir: string }

/** The bot folders of a bots folder: every folder whose name does not start with `.` or `_`. */
export async function findBotFolders(botsDir: string, skipped: string[] = []): Promise<BotFolder[]> {
  const entries = await readdir(botsDir, { withFileTypes: true })
  const folders = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_') && e.name !== 'node_modules')
    .map((e) => ({ id: e.name, dir: resolve(botsDir, e.name) }))
    .sort((a, b) => (a.id < b.id ? -1 : 1))
  // A folder with neither a definition nor an entry file is no bot (a repository's docs/ or scripts/): named in `skipped`.
  for (const folder of folders) if (!definitionFileOf(folder.dir) && !entryOf(folder.dir)) skipped.push(folder.id)
  return folders.filter((folder) => !skipped.includes(folder.id))
}

/**
 * Loads the `@botpress/sdk` each bot folder gets (`sdkFor`), so that a start can do it while something else
 * waits: loading it is most of a cold start's CPU. A folder that cannot load it is left for its load to report.
 */
export async function preloadSdks(botsDir: string, folders?: BotFolder[]): Promise<void> {
  for (const folder of folders ?? (await findBotFolders(botsDir).catch(() => []))) {
    try {
      sdkFor(folder.dir)
    } catch {
      // Said when the bot loads.
    }
  }
}

/** The entry file of a bot folder: `index.ts` or `src/index.ts`. */
export function entryOf(dir: string): string | undefined {
  return ['index.ts', join('src', 'index.ts')].map((f) => join(dir, f)).find((f) => existsSync(f))
}

/** The definition file of a bot folder, if any. */
export function definitionFileOf(dir: string): string | undefined {
  return ['bot.definition.ts', join('src', 'bot.definition.ts')].map((f) => join(dir, f)).find((f) => existsSync(f))
}

/** Whether a folder is a Botpress project: its package.json names `@botpress/sdk`. Such a bot gets Botpress Cloud's milliseconds. */
export function expiryUnitOf(dir: string): ExpiryUnit {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
    const named = ['dependencies', 'devDependencies', 'peerDependencies'].some((field) => pkg[field]?.['@botpress/sdk'] !== undefined)
    return named ? 'ms' : 'seconds'
  } catch {
    return 'seconds'
  }
}

function isBot(value: unknown): value is SdkBot {
  return typeof value === 'object' && value !== null && typeof (value as SdkBot).handler === 'function' && typeof (value as SdkBot).messageHandlers === 'object'
}

function isDefinition(value: unknown, sdk: SdkModule): value is SdkDefinition {
  return value instanceof sdk.BotDefinition || (typeof value === 'object' && value !== null && 'withPlugins' in value && 'metadata' in value)
}

/** A recurring event's payload as JSON: some bots give a schema there, which the cloud never sends. */
function jsonPayload(payload: unknown): Record<string, unknown> {
  if (typeof payload !== 'object' || payload === null || typeof (payload as { safeParse?: unknown }).safeParse === 'function') return {}
  return payload as Record<string, unknown>
}

/**
 * Loads a bot's definition: the default export of `bot.definition.ts`, or an empty `sdk.BotDefinition`.
 * Raises BotLoadError naming the file.
 */
export async function loadDefinition(folder: BotFolder, clock: Clock, cache?: CompileCache): Promise<{ definition: SdkDefinition; simulated: string[]; sdk: SdkModule }> {
  const sdk = sdkFor(folder.dir)
  extendBotClient(sdk, callNames)
  const file = definitionFileOf(folder.dir)
  if (!file) return { definition: new sdk.BotDefinition({}) as unknown as SdkDefinition, simulated: [], sdk }
  let definition: unknown
  try {
    definition = (await loadModule(file, { botDir: folder.dir, clock, cache })).default
  } catch (cause) {
    throw new BotLoadError(folder.id, file, { cause })
  }
  if (!isDefinition(definition, sdk)) throw new BotLoadError(folder.id, file, { cause: new Error('the default export is not a BotDefinition (new sdk.BotDefinition({...}))') })
  // Each package once, though a bot may add it under two aliases (or name a plugin as an integration).
  const simulated = [...new Set([...Object.values(definition.integrations ?? {}), ...Object.values(definition.plugins ?? {})].filter((p) => (p as { simulated?: boolean }).simulated).map((p) => p.name))]
  return { definition, simulated, sdk }
}

/** Loads one bot folder: its definition (optional), its generated `.botpress`, and its bot. Raises BotLoadError naming the file. */
export async function loadBot(folder: BotFolder, clock: Clock, cache?: CompileCache): Promise<LoadedBot> {
  const { definition, simulated, sdk } = await loadDefinition(folder, clock, cache)
  const entry = entryOf(folder.dir)
  if (!entry) throw new BotLoadError(folder.id, join(folder.dir, 'index.ts'), { cause: new Error('no index.ts or src/index.ts') })
  let generated: LoadedBot['generated']
  try {
    generated = await generateBotpress({ dir: folder.dir, definition: definition as Parameters<typeof generateBotpress>[0]['definition'], sdk })
  } catch (cause) {
    throw new BotLoadError(folder.id, join(folder.dir, '.botpress'), { cause })
  }
  let bot: unknown
  try {
    bot = (await loadModule(entry, { botDir: folder.dir, clock, cache })).default
  } catch (cause) {
    throw new BotLoadError(folder.id, entry, { cause })
  }
  if (!isBot(bot)) throw new BotLoadError(folder.id, entry, { cause: new Error('the default export is not a bot (new bp.Bot({ actions: {} }))') })
  const states: Record<string, StateDefinition> = {}
  // With its plugins': their states (`hitl#session`) and crons are the bot's too.
  const parts = definition.withPlugins ?? definition
  for (const [name, state] of Object.entries(parts.states ?? {})) states[name] = { type: state.type, schema: state.schema, expiry: state.expiry }
  const recurringEvents: Record<string, RecurringEvent> = {}
  for (const [key, event] of Object.entries(parts.recurringEvents ?? {})) recurringEvents[key] = { ...event, payload: jsonPayload(event.payload) }
  const sdkVersion = sdkVersionFor(folder.dir)
  const clientFromEnv = Number.parseInt(sdkVersion, 10) < 7
  const actions = await actionSourceOf(folder, definition, clock, cache)
  const defaults = definition.configuration?.schema?.safeParse({})
  const configuration = defaults?.success && typeof defaults.data === 'object' && defaults.data !== null ? (defaults.data as Record<string, unknown>) : {}
  return { id: folder.id, dir: folder.dir, entry, bot, definition, states, expiryUnit: expiryUnitOf(folder.dir), sdkVersion, clientFromEnv, configuration, actions, recurringEvents, simulated, generated }
}

/** The file of a bot folder whose default export mocks its integrations' actions, by type (`slack:addReaction`). */
export const MOCKS_FILES = ['localbot.mocks.ts', 'localbot.mocks.js']

async function actionSourceOf(folder: BotFolder, definition: SdkDefinition, clock: Clock, cache?: CompileCache): Promise<ActionSource> {
  const file = MOCKS_FILES.map((name) => join(folder.dir, name)).find((path) => existsSync(path))
  let mocks: Record<string, ActionMock> = {}
  if (file) {
    let loaded: unknown
    try {
      loaded = (await loadModule(file, { botDir: folder.dir, clock, cache })).default
    } catch (cause) {
      throw new BotLoadError(folder.id, file, { cause })
    }
    const wrong = typeof loaded !== 'object' || loaded === null ? ['(the default export)'] : Object.entries(loaded).filter(([, mock]) => typeof mock !== 'function').map(([type]) => type)
    if (wrong.length > 0) throw new BotLoadError(folder.id, file, { cause: new Error(`the default export must map action types to functions (input) => output; not a function: ${wrong.join(', ')}`) })
    mocks = loaded as Record<string, ActionMock>
  }
  return {
    mocks,
    mocksFile: file ?? join(folder.dir, MOCKS_FILES[0]!),
    outputSchema(type) {
      const [alias, name] = type.split(':')
      if (alias === undefined || name === undefined) return undefined
      const integration = Object.hasOwn(definition.integrations ?? {}, alias) ? definition.integrations![alias] : undefined
      const action = integration?.definition?.actions && Object.hasOwn(integration.definition.actions, name) ? integration.definition.actions[name] : undefined
      return action?.output?.schema as ReturnType<ActionSource['outputSchema']>
    },
  }
}

/** Loads bot folders (compiled files kept in `cache` when given); a bot that fails is returned as a failure and the others still load. */
export async function loadBots(folders: BotFolder[], clock: Clock, cache?: CompileCache): Promise<{ bots: LoadedBot[]; failures: BotLoadError[] }> {
  const bots: LoadedBot[] = []
  const failures: BotLoadError[] = []
  for (const folder of folders) {
    try {
      bots.push(await loadBot(folder, clock, cache))
    } catch (error) {
      failures.push(error instanceof BotLoadError ? error : new BotLoadError(folder.id, folder.dir, { cause: error }))
    }
  }
  return { bots, failures }
}
