/**
 * `npm run typecheck [-- --bots DIR]`: type-checks runtime/, test/, scripts/ and every bot of the bots
 * folder in one program. For a bot's files, `.botpress` resolves to a module typed by that bot's
 * definition (made in memory, written nowhere) and `@botpress/sdk` to runtime/sdk.
 */
import { join, resolve, sep } from 'node:path'
import { parseArgs } from 'node:util'
import ts from 'typescript'
import { definitionFileOf, entryOf } from '../runtime/bots/loader.ts'
import { findBotFolders } from '../runtime/bots/loader.ts'
import { botpressModuleFor } from '../runtime/sdk/typing.ts'

const root = resolve(import.meta.dirname, '..')
const { values } = parseArgs({ options: { bots: { type: 'string', default: 'bots' } } })
const botsDir = resolve(values.bots!)

const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')) } })!
const options = config.options
const sdkIndex = join(root, 'runtime', 'sdk', 'index.ts')

const bots = await findBotFolders(botsDir)
/** Virtual `.botpress` modules, by the bot folder they serve. */
const virtual = new Map<string, string>()
const botFiles: string[] = []
for (const bot of bots) {
  virtual.set(join(bot.dir, '.botpress', 'index.ts'), botpressModuleFor(definitionFileOf(bot.dir)))
  const entry = entryOf(bot.dir)
  if (entry) botFiles.push(entry)
  const definition = definitionFileOf(bot.dir)
  if (definition) botFiles.push(definition)
}

function botDirOf(file: string): string | undefined {
  return bots.find((b) => file.startsWith(b.dir + sep))?.dir
}

const host = ts.createCompilerHost(options)
const { getSourceFile, fileExists, readFile } = host
host.fileExists = (file) => virtual.has(file) || fileExists(file)
host.readFile = (file) => virtual.get(file) ?? readFile(file)
host.getSourceFile = (file, language, ...rest) => {
  const text = virtual.get(file)
  return text === undefined ? getSourceFile(file, language, ...rest) : ts.createSourceFile(file, text, language)
}
host.resolveModuleNameLiterals = (literals, containingFile, redirected, compilerOptions) =>
  literals.map((literal) => {
    const name = literal.text
    const botDir = botDirOf(containingFile)
    if (name === '.botpress' && botDir) return { resolvedModule: { resolvedFileName: join(botDir, '.botpress', 'index.ts'), extension: ts.Extension.Ts } }
    if (name === '@botpress/sdk') return { resolvedModule: { resolvedFileName: sdkIndex, extension: ts.Extension.Ts } }
    return ts.resolveModuleName(name, containingFile, compilerOptions, host, undefined, redirected)
  })

const program = ts.createProgram({ rootNames: [...new Set([...config.fileNames, ...botFiles])], options, host })
const diagnostics = ts.getPreEmitDiagnostics(program)
if (diagnostics.length > 0) {
  process.stderr.write(
    ts.formatDiagnosticsWithColorAndContext(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => process.cwd(),
      getNewLine: () => '\n',
    }),
  )
  process.stderr.write(`\n${diagnostics.length} type error(s)\n`)
  process.exit(1)
}
process.stdout.write(`typecheck: ok (${program.getRootFileNames().length} files, ${bots.length} bots in ${botsDir})\n`)
