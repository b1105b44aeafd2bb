/**
 * `npm run typecheck [-- --bots DIR ...]`: type-checks runtime/, test/, scripts/ and every bot of the bots folders
 * (`--bots` may be given more than once; default `bots` and `scripts/bench/bots`) in one program, against Botpress's own `@botpress/sdk`. Each bot's `.botpress/` is first generated from its loaded
 * definition as `bp gen` would (one that `bp gen` wrote is used as it is); in a bot's files `.botpress` resolves to
 * that folder's `.botpress/index.ts`, `@botpress/sdk` to the bot's installed copy or else localbot's, and other
 * imports as a bundler resolves them (the way esbuild builds the bot, and Botpress projects are written).
 */
import { readFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import { parseArgs } from 'node:util'
import ts from 'typescript'
import { definitionFileOf, entryOf, findBotFolders, loadDefinition } from '../runtime/bots/loader.ts'
import { systemClock } from '../runtime/time/clock.ts'
import { generateBotpress, type BotDefinitionLike } from '../runtime/bots/gen/index.ts'

const root = resolve(import.meta.dirname, '..')
const { values } = parseArgs({ options: { bots: { type: 'string', multiple: true, default: ['bots', 'scripts/bench/bots'] } } })
const botsDirs = values.bots.map((dir) => resolve(dir))

const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  },
})!
const options = config.options

/**
 * The bot folder a file importing `.botpress` belongs to (e.g. scripts/bench/bots/counter): the nearest folder,
 * other than a `src`, holding a definition or an entry file.
 */
function botFolderOf(file: string): string | undefined {
  for (let dir = dirname(file); dir.startsWith(root) && dir !== root; dir = dirname(dir))
    if (basename(dir) !== 'src' && (definitionFileOf(dir) || entryOf(dir))) return dir
  return undefined
}

const importsBotpress = (file: string) => /from\s+['"]\.botpress['"]/.test(readFileSync(file, 'utf8'))
const botDirs = new Set<string>()
for (const botsDir of botsDirs) for (const bot of await findBotFolders(botsDir)) botDirs.add(bot.dir)
for (const file of config.fileNames) {
  const dir = importsBotpress(file) ? botFolderOf(file) : undefined
  if (dir) botDirs.add(dir)
}

/** Failures that are not type errors: a definition that does not load. */
const failures: string[] = []
const botFiles: string[] = []
for (const dir of botDirs) {
  const definitionFile = definitionFileOf(dir)
  let definition: BotDefinitionLike
  try {
    // As the runtime loads it: missing bp_modules and .genenv stand in (see runtime/bots/compile.ts).
    definition = (await loadDefinition({ id: basename(dir), dir }, systemClock)).definition as BotDefinitionLike
  } catch (error) {
    failures.push(`${relative(process.cwd(), definitionFile ?? dir)}: ${(error as Error).message}`)
    continue
  }
  const { reason } = await generateBotpress({ dir, definition })
  if (reason) process.stdout.write(`typecheck: ${reason}\n`)
  for (const file of [entryOf(dir), definitionFile]) if (file) botFiles.push(file)
}

const botDirOf = (file: string) => [...botDirs].find((dir) => file.startsWith(dir + sep))
/** How a bundler resolves (esbuild, as localbot and `bp build` compile bots): no file extensions needed. */
const bundlerOptions: ts.CompilerOptions = { ...options, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }
const resolvedTs = (resolvedFileName: string) => ({ resolvedModule: { resolvedFileName, extension: ts.Extension.Ts } })

const host = ts.createCompilerHost(options)
/** The types of localbot's stand-ins for a missing `bp_modules/NAME` and `.genenv`. */
const simulatedTypes = join(root, 'runtime', 'bots', 'gen', 'simulated-package.d.ts')
const genenvTypes = join(root, 'runtime', 'bots', 'gen', 'genenv.d.ts')
/** Botpress's client with the reference page's `limit` on list calls, as the SDK's typings see it (see the file). */
const widenedClient = join(root, 'runtime', 'bots', 'gen', 'client-widened.d.ts')
host.resolveModuleNameLiterals = (literals, containingFile, redirected, compilerOptions) =>
  literals.map(({ text: name }) => {
    if (name === '@botpress/client' && /[\\/]@botpress[\\/]sdk[\\/]/.test(containingFile))
      return { resolvedModule: { resolvedFileName: widenedClient, extension: ts.Extension.Dts } }
    const botDir = botDirOf(containingFile)
    if (!botDir) return ts.resolveModuleName(name, containingFile, compilerOptions, host, undefined, redirected)
    if (name === '.botpress') return resolvedTs(join(botDir, '.botpress', 'index.ts'))
    const own = ts.resolveModuleName(name, containingFile, bundlerOptions, host)
    // What the runtime simulates when bp add / genenv have not run: a permissive package, the environment.
    if (!own.resolvedModule && /(^|\/)bp_modules\/[^/]+\/?$/.test(name)) return { resolvedModule: { resolvedFileName: simulatedTypes, extension: ts.Extension.Dts } }
    if (!own.resolvedModule && /(^|\/)\.genenv(\/index)?$/.test(name)) return { resolvedModule: { resolvedFileName: genenvTypes, extension: ts.Extension.Dts } }
    // `@botpress/...`: the bot folder's installed copy, else localbot's.
    if (!own.resolvedModule && name.startsWith('@botpress/')) return ts.resolveModuleName(name, join(root, 'index.ts'), bundlerOptions, host)
    return own
  })

const program = ts.createProgram({ rootNames: [...new Set([...config.fileNames, ...botFiles])], options, host })
const diagnostics = ts.getPreEmitDiagnostics(program)
for (const failure of failures) process.stderr.write(`${failure}\n`)
if (diagnostics.length > 0) {
  process.stderr.write(
    ts.formatDiagnosticsWithColorAndContext(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => process.cwd(),
      getNewLine: () => '\n',
    }),
  )
  process.stderr.write(`\n${diagnostics.length} type error(s)\n`)
}
const bots = [...botDirs].map((dir) => relative(process.cwd(), dir)).join(', ')
const ok = diagnostics.length === 0 && failures.length === 0
process.stdout.write(`typecheck: ${ok ? 'ok' : 'failed'} (${program.getRootFileNames().length} files; bots ${bots})\n`)
if (!ok) process.exit(1)
