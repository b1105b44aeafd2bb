import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { Script } from 'node:vm'
import { build, type Message } from 'esbuild'
import * as botpress from '../sdk/botpress.ts'
import * as sdk from '../sdk/index.ts'
import type { Clock } from '../time/clock.ts'

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

/** What bot code gets for `@botpress/sdk` and `.botpress`: this runtime's SDK, one instance for every bot. */
const provided: Record<string, unknown> = { '@botpress/sdk': sdk, '.botpress': botpress }

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

/**
 * Compiles a bot file with everything it imports from its folder into one CommonJS function (esbuild),
 * and runs it: `@botpress/sdk` and `.botpress` come from this runtime, npm packages from the bot's
 * folder, and `Date` from the runtime's clock. Each load is a fresh function that nothing keeps once the bot is replaced, so reloading a
 * hundred times frees what it replaced (an ESM import with a cache-busting query would not).
 */
export async function loadModule(file: string, clock: Clock): Promise<Record<string, unknown>> {
  let code: string
  try {
    const result = await build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      logLevel: 'silent',
    })
    code = result.outputFiles[0]!.text
  } catch (error) {
    const first = (error as { errors?: Message[] }).errors?.[0]
    if (!first) throw error
    throw new CompileError(first.location ? resolve(first.location.file) : file, first.location?.line, first.location ? first.location.column + 1 : undefined, first.text)
  }
  const nodeRequire = createRequire(file)
  const require = (id: string) => (Object.hasOwn(provided, id) ? provided[id] : nodeRequire(id))
  const module = { exports: {} as Record<string, unknown> }
  const run = new Script(`(function (exports, require, module, __filename, __dirname, Date) {${code}\n})`, { filename: file }).runInThisContext() as (
    ...args: unknown[]
  ) => void
  run(module.exports, require, module, file, dirname(file), clockedDate(clock))
  return module.exports
}
