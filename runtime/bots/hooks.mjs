// Module resolve hook (node:module register): bot code's `@botpress/sdk` and `.botpress` resolve to
// localbot's SDK, from a bots folder anywhere on disk. Plain JS because hooks run on their own thread.
const targets = new Map([
  ['@botpress/sdk', new URL('../sdk/index.ts', import.meta.url).href],
  ['.botpress', new URL('../sdk/botpress.ts', import.meta.url).href],
])

export async function resolve(specifier, context, nextResolve) {
  const url = targets.get(specifier)
  // Hand the target on, so that the TypeScript loader (tsx) still resolves and loads it.
  if (url !== undefined) return nextResolve(url, context)
  return nextResolve(specifier, context)
}
