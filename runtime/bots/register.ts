import Module, { register } from 'node:module'
import { fileURLToPath } from 'node:url'

/**
 * Makes `@botpress/sdk` and `.botpress` resolve to localbot's SDK for bot code: an ESM resolve hook,
 * and the same mapping for CommonJS `require` (a bots folder without `"type": "module"` compiles to it).
 */
const targets = new Map([
  ['@botpress/sdk', fileURLToPath(new URL('../sdk/index.ts', import.meta.url))],
  ['.botpress', fileURLToPath(new URL('../sdk/botpress.ts', import.meta.url))],
])

let registered = false

/** Installs the mapping once per process. */
export function registerBotImports(): void {
  if (registered) return
  registered = true
  register('./hooks.mjs', import.meta.url)
  const internal = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string }
  const original = internal._resolveFilename
  internal._resolveFilename = function (request: string, ...rest: unknown[]) {
    return targets.get(request) ?? original.call(this, request, ...rest)
  }
}
