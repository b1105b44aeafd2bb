/**
 * localbot's `bp gen`: a bot's `.botpress/` folder, typed from its loaded definition, with the names and layout of
 * Botpress's generator (`index.ts` → `implementation/` (Bot, handler and client types, `typings/` → `TBot`,
 * `plugins/`) and `secrets/`). Written only where localbot wrote before, and only what changed.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { implementationIndex } from './implementation.ts'
import { inFolder, type Files } from './module.ts'
import { unique } from './names.ts'
import { pluginFiles, type PluginInstance } from './plugins.ts'
import { secretsIndex, type SecretDefinition } from './secrets.ts'
import { botTypings, type BotParts, type IntegrationDefinition } from './typings.ts'
import { writeGenerated } from './write.ts'

export { HEADER } from './write.ts'

type Sdk = typeof import('@botpress/sdk')

/**
 * localbot's copy of the SDK, for its standard message schemas (its ES module face does not export them by name),
 * when the caller gives none: loaded when first needed, since loading it is most of a cold start.
 */
const ownSdk = (): Sdk => createRequire(import.meta.url)('@botpress/sdk') as Sdk

/** An integration as a definition holds it (`addIntegration`) or as a `bp_modules/<name>` package exports it. */
export type IntegrationLike = { definition: IntegrationDefinition }

/**
 * What the generator reads of a bot definition: an `sdk.BotDefinition` of any SDK copy the bot loaded
 * (`withPlugins` holds the definition's parts with its plugins' merged in, under `alias#name`).
 */
export type BotDefinitionLike = Partial<Omit<BotParts, 'integrations'>> & {
  integrations?: Record<string, IntegrationLike>
  plugins?: Record<string, PluginInstance>
  secrets?: Record<string, SecretDefinition>
  withPlugins?: Partial<Omit<BotParts, 'integrations'>>
}

/** What `generateBotpress` takes. */
export type GenerateOptions = {
  /** The bot's folder: `.botpress/` is written in it. */
  dir: string
  /** The default export of the bot's `bot.definition.ts`, loaded (`new sdk.BotDefinition({})` when it has none). */
  definition: BotDefinitionLike
  /** Integrations by alias beyond, or instead of, those the definition added (e.g. the loader's stand-ins). */
  integrations?: Record<string, IntegrationLike>
  /**
   * The SDK whose standard messages type a bot that has no integration with messages: the bot's own (localbot's
   * when not given, or when the bot's is too old to have them all).
   */
  sdk?: Sdk
}

/**
 * The integration whose one channel takes Botpress's standard messages, for a bot that has no integration with
 * messages: without one, Botpress types every message as `never`, and localbot's faces talk to such bots.
 */
function standIn(taken: string[], sdk: Sdk): Record<string, IntegrationDefinition> {
  const alias = unique([...taken, 'localbot']).at(-1)!
  return { [alias]: { name: 'localbot', version: '0.0.0', channels: { channel: { messages: { ...sdk.messages.defaults, markdown: sdk.messages.markdown } } } } }
}

const hasMessages = (i: IntegrationDefinition) => Object.values(i.channels ?? {}).some((c) => Object.keys(c.messages ?? {}).length > 0)

/** The files of a bot's `.botpress/` (paths relative to it, contents without the header). */
export function botpressFiles(definition: BotDefinitionLike, extra: Record<string, IntegrationLike> = {}, sdk?: Sdk): Files {
  const parts = definition.withPlugins ?? definition
  const integrations: Record<string, IntegrationDefinition> = {}
  for (const [alias, integration] of Object.entries({ ...definition.integrations, ...extra })) integrations[alias] = integration.definition
  const typed = Object.values(integrations).some(hasMessages) ? integrations : { ...integrations, ...standIn(Object.keys(integrations), sdk?.messages?.defaults && sdk.messages.markdown ? sdk : ownSdk()) }
  const simulatedPlugins = Object.entries(definition.plugins ?? {}).filter(([, plugin]) => (plugin as { simulated?: boolean }).simulated).map(([alias]) => alias)
  const typings = botTypings({
    states: parts.states ?? {},
    events: parts.events ?? {},
    actions: parts.actions ?? {},
    tables: parts.tables ?? {},
    workflows: parts.workflows ?? {},
    integrations: typed,
  }, simulatedPlugins)
  const files: Files = new Map([
    ['index.ts', 'export * from "./implementation/index"\nexport * from "./secrets/index"\n'],
    ['implementation/index.ts', implementationIndex(simulatedPlugins)],
    ['secrets/index.ts', secretsIndex(definition.secrets ?? {})],
  ])
  for (const [path, content] of inFolder('implementation/typings', typings).files) files.set(path, content)
  for (const [path, content] of pluginFiles(definition.plugins ?? {})) files.set(`implementation/plugins/${path}`, content)
  return files
}

/**
 * Writes `<dir>/.botpress/` for the bot as `bp gen` would. Nothing is written over a `.botpress/` that localbot did
 * not write (`{ written: false, reason }`), and a file is rewritten only when its content changed (`written` says
 * whether anything on disk changed).
 */
export async function generateBotpress(options: GenerateOptions): Promise<{ written: boolean; reason?: string }> {
  return writeGenerated(join(options.dir, '.botpress'), botpressFiles(options.definition, options.integrations, options.sdk))
}
