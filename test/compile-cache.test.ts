import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { CompileCache } from '../runtime/bots/compile-cache.ts'
import { loadModule } from '../runtime/bots/compile.ts'
import { systemClock } from '../runtime/time/clock.ts'

/** Sets the files' times a minute back, as files not edited just now are (a compile keeps only those). */
async function age(dir: string, names: string[]): Promise<void> {
  const past = new Date(Date.now() - 60_000)
  for (const name of names) await utimes(join(dir, name), past, past)
}

/** The text the compiled `index.ts` exports. */
async function textOf(botDir: string, cache: CompileCache): Promise<string> {
  const exports = await loadModule(join(botDir, 'index.ts'), { botDir, clock: systemClock, cache })
  return (exports.default as { text: string }).text
}

/** Rewrites every cached entry's code, so that a load that uses the cache is told from one that compiles. */
async function tamper(cacheDir: string, from: string, to: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    const file = join(cacheDir, name)
    const entry = JSON.parse(await readFile(file, 'utf8')) as { code: string }
    await writeFile(file, JSON.stringify({ ...entry, code: entry.code.replaceAll(from, to) }))
  }
}

describe('compiled bots kept between runs', () => {
  it('are used while every file they came from is unchanged, and compiled anew when one changes, appears or steers the compile', async () => {
    const botDir = await mkdtemp(join(tmpdir(), 'localbot-compiled-'))
    const cacheDir = join(botDir, '.localbot', '.compiled')
    const cache = new CompileCache(cacheDir)
    try {
      await writeFile(join(botDir, 'lib.ts'), `export const word: string = 'one'\n`)
      // `.genenv` is simulated while it is missing (the process environment).
      await writeFile(join(botDir, 'index.ts'), `import { word } from './lib'\nimport env from './.genenv'\nexport default { text: word + (env.SUFFIX ?? '') }\n`)
      await age(botDir, ['lib.ts', 'index.ts'])

      assert.equal(await textOf(botDir, cache), 'one')
      assert.equal((await readdir(cacheDir)).length, 1, 'kept')
      await tamper(cacheDir, '"one"', '"kept"')
      assert.equal(await textOf(botDir, cache), 'kept', 'the kept code is used')

      // An imported file edited: compiled anew (and not kept, being edited just now).
      await writeFile(join(botDir, 'lib.ts'), `export const word: string = 'two'\n`)
      assert.equal(await textOf(botDir, cache), 'two')
      await age(botDir, ['lib.ts'])
      assert.equal(await textOf(botDir, cache), 'two')
      await tamper(cacheDir, '"two"', '"kept"')
      assert.equal(await textOf(botDir, cache), 'kept')

      // A module that was simulated appears: compiled anew, reading it.
      await writeFile(join(botDir, '.genenv.ts'), `export default { SUFFIX: '!' }\n`)
      assert.equal(await textOf(botDir, cache), 'two!')

      // A tsconfig.json appears (it steers the compile without being read as an input): compiled anew.
      await age(botDir, ['.genenv.ts'])
      assert.equal(await textOf(botDir, cache), 'two!')
      await tamper(cacheDir, '"two"', '"kept"')
      assert.equal(await textOf(botDir, cache), 'kept!')
      await writeFile(join(botDir, 'tsconfig.json'), '{}\n')
      assert.equal(await textOf(botDir, cache), 'two!')
    } finally {
      await rm(botDir, { recursive: true, force: true })
    }
  })
})
