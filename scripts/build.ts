/**
 * `npm run build`, which `npm pack` runs first (prepack): the installed package's JavaScript, so that a bot project
 * runs localbot without tsx. dist/cli.js is the `localbot` command, dist/testing.js is `localbot/testing` (they
 * share chunks; dist/testing.cjs is it for require), dist/types/ holds the declarations of `localbot/testing`.
 * Dependencies stay in node_modules, where `@botpress/sdk` is found from dist/ as from runtime/
 * (createRequire(import.meta.url)); bots stay TypeScript, compiled when they load (runtime/bots/compile.ts).
 * `npm start` and `npm test` here run from source.
 */
import { chmod, cp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import ts from 'typescript'

const root = resolve(import.meta.dirname, '..')
const dist = join(root, 'dist')
await rm(dist, { recursive: true, force: true })

/**
 * Packages bundled into dist/ instead of loaded from node_modules: pure JavaScript that localbot alone uses.
 * zod 4 is about a hundred ES modules, and Node resolving, reading and linking them one by one took about
 * 95 ms of a start against 30 ms for the same code in one file (`npm run bench`, peer-start). Everything else
 * stays external: Botpress's packages (bots load the same copy), native ones (classic-level), esbuild, pg.
 */
const BUNDLED = ['zod', 'mitt', 'node-cron']
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
const external = Object.keys(pkg.dependencies)
  .filter((name) => !BUNDLED.includes(name))
  .flatMap((name) => [name, `${name}/*`])
const shared = { bundle: true, platform: 'node', target: 'node20', external, logLevel: 'warning' } as const
await build({
  ...shared,
  entryPoints: { cli: join(root, 'runtime', 'cli.ts'), testing: join(root, 'runtime', 'testing.ts') },
  outdir: dist,
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  format: 'esm',
})
// `require('localbot/testing')`, for runners that load test files as CommonJS and cannot load an ES module from
// node_modules (jest, without setup): one file, CommonJS having no chunks. import.meta.url is the file's own URL.
await build({
  ...shared,
  entryPoints: { testing: join(root, 'runtime', 'testing.ts') },
  outdir: dist,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
})
await chmod(join(dist, 'cli.js'), 0o755)
// The web console's static files, which the HTTP face serves from dist/console/ (runtime/faces/console.ts, consoleDir).
await cp(join(root, 'runtime', 'faces', 'console'), join(dist, 'console'), { recursive: true, filter: (file) => !file.endsWith('tsconfig.json') })

// The declarations of the testing entry and of what its types name.
const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  },
})!
const program = ts.createProgram({
  rootNames: [join(root, 'runtime', 'testing.ts')],
  options: {
    ...config.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    rewriteRelativeImportExtensions: true,
    rootDir: join(root, 'runtime'),
    outDir: join(dist, 'types'),
  },
})
const { diagnostics, emitSkipped } = program.emit()
if (emitSkipped || diagnostics.length > 0) {
  const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }
  process.stderr.write(ts.formatDiagnostics(diagnostics, host))
  process.exit(1)
}
// Their relative imports end in .ts as the source's do (TypeScript rewrites them only in JavaScript): .js, as a
// bot project's TypeScript resolves a package's declarations whatever its own settings.
const types = join(dist, 'types')
for (const file of await readdir(types, { recursive: true })) {
  if (!file.endsWith('.d.ts')) continue
  const text = await readFile(join(types, file), 'utf8')
  await writeFile(join(types, file), text.replace(/((?:from |import\()['"]\.{1,2}\/[^'"]*)\.ts(['"])/g, '$1.js$2'))
}
process.stdout.write(`build: ${dist}\n`)
