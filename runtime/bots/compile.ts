import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire, Module } from 'node:module'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Message, Plugin } from 'esbuild'
import type { Clock } from '../time/clock.ts'
import type { CompileCache } from './compile-cache.ts'
import { simulatedPackage } from './simulated.ts'

/** A compile or load error with the place it points at. */
export class CompileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
    message: string,
  ) {
    super(message)
    this.name = 'CompileError'
  }
}

/**
 * A `Date` whose `new Date()`, `Date()` (the time as a string) and `Date.now()` read the runtime's clock: bot
 * code sees virtual time under `--virtual-clock` and in tests. Dates built from a value are plain dates, and
 * share Date's prototype, so `instanceof` holds both ways between the bot's Date and the real one.
 */
export function clockedDate(clock: Clock): DateConstructor {
  function ClockDate(this: unknown, ...args: unknown[]): Date | string {
    // Called without `new`, Date ignores its arguments and gives the time now as a string.
    if (!new.target) return new Date(clock.now()).toString()
    return Reflect.construct(Date, args.length === 0 ? [clock.now()] : args, new.target) as Date
  }
  ClockDate.prototype = Date.prototype
  Object.setPrototypeOf(ClockDate, Date) // parse, UTC
  Object.defineProperties(ClockDate, {
    now: { value: () => clock.now(), writable: true, configurable: true },
    name: { value: 'Date' },
    length: { value: Date.length },
  })
  return ClockDate as unknown as DateConstructor
}

/** Where a bot's generated and borrowed modules are: its folder, and localbot's copy of Botpress's SDK. */
export type ModuleContext = {
  botDir: string
  clock: Clock
  /** Where compiled files are kept between runs (the CLI's data folder); none compiles every time. */
  cache?: CompileCache
}

/**
 * What decides a compile's output besides the files it reads: esbuild's version and this code (its plugin,
 * banner and options), as the hash of the file that holds it (compile.ts from source, the bundle's chunk when
 * installed), so that a localbot that compiles otherwise never takes an older one's output. Read once, when a
 * cache is first asked. esbuild's version is read from its package.json, and esbuild itself is loaded only to
 * compile: loading it was about 20 ms of a start whose bots were all in the cache (`npm run bench`, peer-start).
 */
let compileSignature: { localbot: string; esbuild: string } | undefined
function signature() {
  compileSignature ??= {
    localbot: createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex'),
    esbuild: String((ownRequire('esbuild/package.json') as { version: string }).version),
  }
  return compileSignature
}

/** Modules that stand in for what a Botpress project generates or downloads: resolved by the bundler, then served at run time. */
const SIMULATED = 'localbot:simulated-package'
/** Where a compiled bot's exports keep its Module (see loadModule). */
const MODULE = Symbol('localbot.module')
/** Modules whose exports could not hold them: kept for the process's life (rare: frozen exports). */
const keptModules: unknown[] = []

/** The bot's `Date`, bound to localbot's clock. */
const CLOCKED_DATE = 'localbot:date'
const GENENV = 'localbot:genenv'

/**
 * How a Botpress project's imports resolve, as `bp gen` / `bp add` would leave them:
 * - `.botpress` is the bot folder's `.botpress/index.ts` (generated before the bot is compiled);
 * - `./bp_modules/NAME` is the downloaded package when `bp add` put it there, else a simulated package;
 * - `./.genenv`, the botpress repository's generated environment module, is `process.env` when missing.
 */
function botpressProject(botDir: string, absent: string[]): Plugin {
  return {
    name: 'localbot-botpress-project',
    setup(build) {
      // The stand-ins' own modules are served at run time by the bot's require.
      build.onResolve({ filter: /^localbot:/ }, (args) => ({ path: args.path, external: true }))
      build.onResolve({ filter: /^\.botpress(\/index(\.ts)?)?$/ }, () => ({ path: join(botDir, '.botpress', 'index.ts') }))
      build.onResolve({ filter: /(^|\/)bp_modules\/[^/]+\/?$/ }, async (args) => {
        const target = args.path.startsWith('.') ? resolve(args.resolveDir, args.path) : join(botDir, args.path)
        if (!existsSync(target)) {
          absent.push(target)
          return { path: basename(target), namespace: SIMULATED }
        }
        if (args.path.startsWith('.')) return undefined
        return build.resolve('./' + args.path, { resolveDir: botDir, kind: args.kind })
      })
      // An ES module, so that its default export is the package whichever interop the importer's package.json asks.
      build.onLoad({ filter: /.*/, namespace: SIMULATED }, (args) => ({
        contents: `export default require(${JSON.stringify(SIMULATED)})(${JSON.stringify(args.path)})`,
        loader: 'js',
      }))
      build.onResolve({ filter: /(^|\/)\.genenv(\/index(\.ts)?)?$/ }, (args) => {
        const target = resolve(args.resolveDir, args.path)
        if (existsSync(target) || existsSync(target + '.ts')) return undefined
        absent.push(target, target + '.ts')
        return { path: 'genenv', namespace: GENENV }
      })
      build.onLoad({ filter: /.*/, namespace: GENENV }, () => ({ contents: `module.exports = require(${JSON.stringify(GENENV)})`, loader: 'js' }))
    },
  }
}

/**
 * Stack traces through a bot's code point at its own files and lines: Node applies the source map that each
 * compiled bot carries (see loadModule), also when localbot runs as plain JavaScript without tsx. Turned on
 * once Botpress's packages are loaded: with source maps on, Node reads the map of every module it loads, and
 * @botpress/client's are megabytes of JSON that made a fifth of a cold start (`npm run bench`, peer-start).
 */
function enableSourceMaps(botRequire: (id: string) => unknown): void {
  if (process.sourceMapsEnabled) return
  botRequire('@botpress/sdk')
  botRequire('@botpress/client')
  process.setSourceMapsEnabled(true)
}

/** localbot's own require: its copy of `@botpress/sdk` and `@botpress/client`. */
const ownRequire = createRequire(import.meta.url)

/** The packages a bot gets from its own folder when installed there, else from localbot. */
const borrowed = /^@botpress\/(sdk|client)(\/|$)/

/**
 * Compiles a bot file with everything it imports from its folder into one CommonJS function (esbuild),
 * and runs it: `@botpress/sdk` is Botpress's own (the bot folder's installed copy, else localbot's), npm
 * packages come from the bot's folder, the modules of a Botpress project resolve as `botpressProject`
 * says, and `Date` reads the runtime's clock. Each load is a fresh function that nothing keeps once the bot
 * is replaced, so reloading a hundred times frees what it replaced (an ESM import with a cache-busting query
 * would not).
 */
export async function loadModule(file: string, context: ModuleContext): Promise<Record<string, unknown>> {
  const key = context.cache && { ...signature(), file }
  const code = (key && (await context.cache!.get(key))) ?? (await compile(file, context, key))
  const nodeRequire = createRequire(file)
  const botRequire = (id: string): unknown => {
    if (borrowed.test(id)) {
      try {
        return nodeRequire(id)
      } catch {
        return ownRequire(id)
      }
    }
    if (id === SIMULATED) return (name: string) => simulatedPackage(botRequire('@botpress/sdk') as SdkModule, name)
    if (id === GENENV) return process.env
    return nodeRequire(id)
  }
  // Compiled as Node compiles a CommonJS file, so that Node applies the bundle's source map to stack traces
  // (the bot's own file and line), and kept out of require's cache, so that a reload frees it.
  const module = new Module(file) as Module & { _compile(code: string, filename: string): void; require(id: string): unknown }
  module.filename = file
  module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(file))
  module.require = (id: string) => (id === CLOCKED_DATE ? clockedDate(context.clock) : botRequire(id))
  enableSourceMaps(botRequire)
  module._compile(code, file)
  // Node keeps a compiled file's source map only while its Module lives (a weak map): what the caller keeps of
  // the file (its exports, and the bot or definition they export by default) holds it, so that stack traces
  // stay mapped for as long as the bot's code runs, and a reload frees both.
  const exports = module.exports as Record<string | symbol, unknown>
  const holders = [exports, exports?.default].filter((h): h is object => (typeof h === 'object' || typeof h === 'function') && h !== null)
  let held = false
  for (const holder of holders)
    if (Object.isExtensible(holder)) {
      Object.defineProperty(holder, MODULE, { value: module })
      held = true
    }
  if (!held) keptModules.push(module)
  return exports as Record<string, unknown>
}

/** Compiles a bot file with esbuild (see loadModule), keeping the result in the context's cache. */
async function compile(file: string, context: ModuleContext, key: unknown): Promise<string> {
  const startedMs = Date.now()
  // Where the build's plugin found nothing and simulated a module: if one appears there, the next start compiles anew.
  const absent: string[] = []
  let code: string
  let inputs: string[]
  try {
    const { build } = await import('esbuild')
    const result = await build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      metafile: context.cache !== undefined,
      // Never written: it places the source map's paths relative to the bot's file, as Node reads them.
      outfile: join(dirname(file), 'bundle.js'),
      // The bot's Date reads localbot's clock: a module-wide binding, on the first line (the source map allows for it).
      banner: { js: `var Date = require(${JSON.stringify(CLOCKED_DATE)});` },
      logLevel: 'silent',
      plugins: [botpressProject(context.botDir, absent)],
    })
    code = result.outputFiles[0]!.text
    // The metafile names the files read relative to the working folder; modules a plugin served are `namespace:path`.
    inputs = Object.keys(result.metafile?.inputs ?? {})
      .filter((input) => !/^[\w-]+:/.test(input) || isAbsolute(input))
      .map((input) => resolve(input))
  } catch (error) {
    const first = (error as { errors?: Message[] }).errors?.[0]
    if (!first) throw error
    throw new CompileError(first.location ? resolve(first.location.file) : file, first.location?.line, first.location ? first.location.column + 1 : undefined, first.text)
  }
  // A cache that cannot be written costs the next start a compile, nothing more.
  await context.cache?.put(key, context.botDir, [...inputs, ...absent], code, startedMs).catch(() => undefined)
  return code
}

/** What localbot uses of a loaded `@botpress/sdk`. */
export type SdkModule = typeof import('@botpress/sdk')

/** The `@botpress/sdk` a bot folder gets: its own installed copy, else localbot's. */
export function sdkFor(botDir: string): SdkModule {
  try {
    return createRequire(join(botDir, 'index.js'))('@botpress/sdk') as SdkModule
  } catch {
    return ownRequire('@botpress/sdk') as SdkModule
  }
}

/** The version of the `@botpress/sdk` a bot folder gets (`sdkFor`), read from its package.json. */
export function sdkVersionFor(botDir: string): string {
  let main: string
  try {
    main = createRequire(join(botDir, 'index.js')).resolve('@botpress/sdk')
  } catch {
    main = ownRequire.resolve('@botpress/sdk')
  }
  for (let dir = dirname(main); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json')
    if (!existsSync(file)) continue
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
    if (pkg.name === '@botpress/sdk') return String(pkg.version)
  }
  return '0.0.0'
}
