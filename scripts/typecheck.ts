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
import type { SdkModule } from '../runtime/bots/compile.ts'
import { systemClock } from '../runtime/time/clock.ts'
import { generateBotpress, type BotDefinitionLike } from '../runtime/bots/gen/index.ts'

const root = resolve(import.meta.dirname, '..')
const { values } = parseArgs({ options: { bots: { type: 'string', multiple: true, default: ['bots', 'scripts/bench/bots'] } } })
const botsDirs = values.bots.map((dir) => resolve(dir))

/** A tsconfig.json, read as tsc reads it. */
const readConfig = (file: string) =>
  ts.getParsedCommandLineOfConfigFile(file, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  })!
const config = readConfig(join(root, 'tsconfig.json'))
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
/** The packages each bot has simulated (no `bp_modules/NAME`), by bot folder. */
const simulatedOf = new Map<string, string[]>()
for (const dir of botDirs) {
  const definitionFile = definitionFileOf(dir)
  let definition: BotDefinitionLike
  let sdk: SdkModule
  try {
    // As the runtime loads it: missing bp_modules and .genenv stand in (see runtime/bots/compile.ts).
    const loaded = await loadDefinition({ id: basename(dir), dir }, systemClock)
    definition = loaded.definition as BotDefinitionLike
    sdk = loaded.sdk
    if (loaded.simulated.length > 0) simulatedOf.set(dir, loaded.simulated)
  } catch (error) {
    failures.push(`${relative(process.cwd(), definitionFile ?? dir)}: ${(error as Error).message}`)
    continue
  }
  const { reason } = await generateBotpress({ dir, definition, sdk })
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
const checker = program.getTypeChecker()
const isAny = (node: ts.Node) => (checker.getTypeAtLocation(node).flags & ts.TypeFlags.Any) !== 0

/** The innermost node of `file` that spans `position`. */
function nodeAt(file: ts.SourceFile, position: number): ts.Node {
  const inner = (node: ts.Node): ts.Node => ts.forEachChild(node, (child) => (child.getStart(file) <= position && position < child.end ? inner(child) : undefined)) ?? node
  return inner(file)
}

/**
 * Whether a type error is owed to a simulated package rather than to the bot's code: a simulated action's output
 * is `any`, so a callback over it has implicitly-any parameters (TS7006, TS7031), and a variable assigned from it
 * keeps its declared `T | undefined` (TS2322 where it is used). With `bp add`'s real types neither is an error.
 */
function owedToSimulated(diagnostic: ts.Diagnostic): boolean {
  const file = diagnostic.file
  if (!file || diagnostic.start === undefined || !botDirOf(file.fileName) || !simulatedOf.has(botDirOf(file.fileName)!)) return false
  let node = nodeAt(file, diagnostic.start)
  if (diagnostic.code === 7006 || diagnostic.code === 7031) {
    while (!ts.isFunctionLike(node) && node.parent) node = node.parent
    const call = node.parent
    if (!call || !ts.isCallExpression(call) || !call.arguments.includes(node as ts.Expression)) return false
    return isAny(ts.isPropertyAccessExpression(call.expression) ? call.expression.expression : call.expression)
  }
  if (diagnostic.code === 2322) {
    if (ts.isReturnStatement(node) && node.expression) node = node.expression
    else if (ts.isVariableDeclaration(node.parent) && node.parent.initializer) node = node.parent.initializer
    const used = node.getText(file)
    let last: ts.Expression | undefined
    const body = ts.findAncestor(node, ts.isFunctionLike)
    const visit = (n: ts.Node): void => {
      if (n.pos >= node.pos) return
      if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && n.left.getText(file) === used) last = n.right
      ts.forEachChild(n, visit)
    }
    if (body) ts.forEachChild(body, visit)
    return last !== undefined && isAny(last)
  }
  return false
}

const all = ts.getPreEmitDiagnostics(program)
const owed = all.filter(owedToSimulated)
const diagnostics = all.filter((d) => !owed.includes(d))
// The web console's scripts: JavaScript for the browser, checked through their JSDoc against the DOM (their tsconfig).
const consoleConfig = readConfig(join(root, 'runtime', 'faces', 'console', 'tsconfig.json'))
const consoleProgram = ts.createProgram({ rootNames: consoleConfig.fileNames, options: consoleConfig.options })
diagnostics.push(...ts.getPreEmitDiagnostics(consoleProgram))
if (owed.length > 0) {
  const where = (d: ts.Diagnostic) => {
    const { line, character } = d.file!.getLineAndCharacterOfPosition(d.start!)
    return `${relative(process.cwd(), d.file!.fileName)}:${line + 1}:${character + 1}`
  }
  const packages = [...new Set(owed.map((d) => simulatedOf.get(botDirOf(d.file!.fileName)!)!).flat())]
  process.stdout.write(
    `typecheck: ${owed.length} error(s) left unchecked, owed to the any-typed outputs of simulated packages (${packages.join(', ')}); \`bp add\` brings their real types:\n` +
      owed.map((d) => `  ${where(d)} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}\n`).join(''),
  )
}
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
process.stdout.write(`typecheck: ${ok ? 'ok' : 'failed'} (${program.getRootFileNames().length} files and the console's ${consoleProgram.getRootFileNames().length} scripts; bots ${bots})\n`)
if (!ok) process.exit(1)
