/**
 * Loading a `bot.definition.ts` for the generator when no runtime is running (`npm run typecheck`, tests).
 * Interim: the loader (runtime/bots/loader.ts) is to export `loadDefinition(dir)`, which replaces this.
 */
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { build } from 'esbuild'
import type { BotDefinitionLike } from './index.ts'

/** localbot's own require: its copy of `@botpress/sdk`, for a bot folder without one. */
const ownRequire = createRequire(import.meta.url)

/** A bot's `@botpress/...` import: its own installed copy when it has one, else localbot's. */
function requireFor(file: string): (id: string) => unknown {
  const botRequire = createRequire(file)
  return (id) => {
    if (!id.startsWith('@botpress/')) return botRequire(id)
    try {
      return botRequire(id)
    } catch {
      return ownRequire(id)
    }
  }
}

/** The default export of a definition file, compiled with everything it imports from its folder. */
export async function loadDefinitionFile(file: string): Promise<BotDefinitionLike> {
  const result = await build({ entryPoints: [file], bundle: true, write: false, format: 'cjs', platform: 'node', target: 'node20', packages: 'external', logLevel: 'silent' })
  const module = { exports: {} as { default?: BotDefinitionLike } }
  const run = new Function('exports', 'require', 'module', '__filename', '__dirname', result.outputFiles[0]!.text)
  run(module.exports, requireFor(file), module, file, dirname(file))
  if (!module.exports.default || typeof module.exports.default !== 'object') throw new Error(`${file}: the default export is not a BotDefinition`)
  return module.exports.default
}
