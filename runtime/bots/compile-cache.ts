/**
 * Compiled bots kept between runs, so that a start whose bots did not change runs no esbuild at all: its
 * service's start and two builds a bot were about a sixth of the installed package's cold start (`npm run
 * bench`, peer-start). An entry is the compiled code of one file and what it was compiled from: every file
 * esbuild read (its metafile's inputs) and the files that steer it without being read as inputs (the
 * tsconfig.json and package.json files from the bot's folder up, which may be absent), each with its size
 * and modification time. An entry is used only while all of them are as they were; the key names the file,
 * the options and what the build's plugin decided (the `bp_modules` packages present, a `.genenv`), so a
 * package `bp add` brings, another esbuild, or a localbot whose compiling code differs, compiles anew.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { dirname, join, parse, resolve } from 'node:path'

/** A file an entry depends on: its size and modification time, or -1 for both when it was absent. */
type Input = { path: string; size: number; mtimeMs: number }

type Entry = { inputs: Input[]; code: string }

/** A file changed this close (ms) before a compile started may have changed during it (coarse file times). */
const RECENT_MS = 50

/** Files that steer a compile without being one of its inputs: the bot folder's and its parents'. */
function steeringFiles(botDir: string): string[] {
  const files: string[] = []
  for (let dir = resolve(botDir); ; dir = dirname(dir)) {
    files.push(join(dir, 'tsconfig.json'), join(dir, 'package.json'))
    if (dir === parse(dir).root) return files
  }
}

async function inputOf(path: string): Promise<Input> {
  try {
    const { size, mtimeMs } = await stat(path)
    return { path, size, mtimeMs }
  } catch {
    return { path, size: -1, mtimeMs: -1 }
  }
}

export class CompileCache {
  constructor(readonly dir: string) {}

  /** The file an entry of `key` (anything that decides the output besides the inputs) lives in. */
  private fileOf(key: unknown): string {
    return join(this.dir, `${createHash('sha256').update(JSON.stringify(key)).digest('hex')}.json`)
  }

  /** The code compiled for `key`, if every file it came from is as it was then. */
  async get(key: unknown): Promise<string | undefined> {
    let entry: Entry
    try {
      entry = JSON.parse(await readFile(this.fileOf(key), 'utf8')) as Entry
    } catch {
      return undefined
    }
    const now = await Promise.all(entry.inputs.map((input) => inputOf(input.path)))
    const same = now.every((input, i) => input.size === entry.inputs[i]!.size && input.mtimeMs === entry.inputs[i]!.mtimeMs)
    return same ? entry.code : undefined
  }

  /**
   * Keeps `code`, compiled for `key` in `botDir` from `inputs` (absolute paths) by a compile that started at
   * `startedMs`. Not kept when a file it depends on changed since shortly before that (it may have changed
   * while esbuild read it: the next start compiles again); the entry is written whole or not at all.
   */
  async put(key: unknown, botDir: string, inputs: string[], code: string, startedMs: number): Promise<void> {
    const looked = await Promise.all([...new Set([...inputs, ...steeringFiles(botDir)])].map(inputOf))
    if (looked.some((input) => input.mtimeMs > startedMs - RECENT_MS)) return
    const file = this.fileOf(key)
    await mkdir(this.dir, { recursive: true })
    const temp = `${file}.${process.pid}.tmp`
    await writeFile(temp, JSON.stringify({ inputs: looked, code } satisfies Entry))
    await rename(temp, file)
  }
}
