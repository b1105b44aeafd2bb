/**
 * `.botpress/implementation/plugins`: one folder per plugin the definition adds (by alias) with its `TPlugin`
 * typings, its configuration as given to `addPlugin`, and its implementation; an index with the `plugins` map the
 * bot class is built with and the `TPlugins` type, re-exporting each plugin under its alias (`bp.hitl.configuration`).
 */
import { inFolder, type Files } from './module.ts'
import { aliasName, fileName, unique } from './names.ts'
import { pluginTypings, type PluginDefinition } from './typings.ts'

/** What the generator reads of a plugin the definition adds (`definition.plugins[alias]`). */
export type PluginInstance = {
  name: string
  alias?: string
  definition: PluginDefinition
  configuration?: unknown
  interfaces?: unknown
  integrations?: unknown
  /** The plugin's bundled code (CommonJS, default-exporting `new sdk.Plugin(...)`), as `bp add` downloads it. */
  implementation?: unknown
  simulated?: boolean
}

/** A plugin package's bundled code as text, when it has some. */
function bundleOf(plugin: PluginInstance): string | undefined {
  const code = plugin.implementation
  const text = typeof code === 'string' ? code : code instanceof Uint8Array ? Buffer.from(code).toString('utf8') : ''
  return text.trim() === '' ? undefined : text
}

const json = (value: unknown) => JSON.stringify(value ?? {}, null, 2)

function pluginIndex(plugin: PluginInstance, alias: string, bundled: boolean): string {
  const implementation = bundled
    ? `// The plugin package's own code, as bp add downloaded it: its handlers, hooks and actions run in the bot.
import implementation from "./bundle"`
    : `// The package is simulated (bp add has not downloaded it): this stand-in registers no handlers and answers
// no actions, so the bot runs as if the plugin did nothing; its actions are answered by mocks.
const implementation = new sdk.Plugin<TPlugin>({ actions: {} as sdk.PluginProps<TPlugin>["actions"] })`
  return `import * as sdk from "@botpress/sdk"
import * as typings from "./typings/index"

export type TPlugin = sdk.DefaultPlugin<typings.TPlugin>

export const alias = ${JSON.stringify(alias)}
export const configuration = ${json(plugin.configuration)}
export const interfaces = ${json(plugin.interfaces)}
export const integrations = ${json(plugin.integrations)}

${implementation}
export default implementation.initialize({ alias, configuration, interfaces, integrations } as unknown as sdk.PluginRuntimeProps<TPlugin>)
`
}

/** The types of a plugin's bundle, which is plain JavaScript. */
const bundleTypes = `import * as sdk from "@botpress/sdk"
import * as typings from "./typings/index"

declare const implementation: sdk.Plugin<sdk.DefaultPlugin<typings.TPlugin>>
export default implementation
`

/** The plugins folder's files, for the plugins of a definition by alias. */
export function pluginFiles(plugins: Record<string, PluginInstance>): Files {
  const files: Files = new Map()
  const keys = Object.keys(plugins)
  const folders = unique(keys.map(fileName))
  const aliases = unique(keys.map(aliasName))
  keys.forEach((key, i) => {
    const folder = folders[i]!
    for (const [path, content] of inFolder(`${folder}/typings`, pluginTypings(plugins[key]!.definition)).files) files.set(path, content)
    const bundle = plugins[key]!.simulated ? undefined : bundleOf(plugins[key]!)
    if (bundle !== undefined) {
      files.set(`${folder}/bundle.js`, bundle)
      files.set(`${folder}/bundle.d.ts`, bundleTypes)
    }
    files.set(`${folder}/index.ts`, pluginIndex(plugins[key]!, key, bundle !== undefined))
  })
  const index = [
    ...keys.flatMap((_, i) => [`import * as ${aliases[i]} from "./${folders[i]}/index"`, `export * as ${aliases[i]} from "./${folders[i]}/index"`]),
    '',
    'export const plugins = {',
    ...keys.map((key, i) => `  ${JSON.stringify(key)}: ${aliases[i]}.default,`),
    '}',
    '',
    'export type TPlugins = {',
    ...keys.map((key, i) => `  ${JSON.stringify(key)}: ${aliases[i]}.TPlugin`),
    '}',
    '',
  ]
  files.set('index.ts', index.join('\n'))
  return files
}
