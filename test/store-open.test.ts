import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { ClassicLevel } from 'classic-level'
import { DataFolderError, DataFolderInUseError, openFailure, type DataFolderReason } from '../runtime/store/open.ts'
import { repairDataFolder } from '../runtime/store/repair.ts'
import { Store, type Op } from '../runtime/store/store.ts'

const root = await mkdtemp(join(tmpdir(), 'localbot-open-'))
after(() => rm(root, { recursive: true, force: true }))
let folders = 0
const folder = () => join(root, `data-${++folders}`)

const put = (key: string, value: string): Op => ({ type: 'put', key, value })
const TABLE_KEYS = 2000
const LOG_KEYS = 50

/** A data folder as localbot leaves it: 2,000 keys in a table, then 50 written one batch at a time, in the log. */
async function folderWithData(): Promise<string> {
  const dir = folder()
  const store = await Store.open(dir)
  await store.batch(Array.from({ length: TABLE_KEYS }, (_, i) => put(`t${String(i).padStart(5, '0')}`, `table record ${i} `.repeat(8))))
  await store.flush()
  // LevelDB writes its memtable to a table before compacting.
  await (store.db as unknown as ClassicLevel<string, string>).compactRange('t', 'u')
  for (let i = 0; i < LOG_KEYS; i++) {
    await store.batch([put(`l${String(i).padStart(3, '0')}`, `log record ${i} `.repeat(8))])
    await store.flush()
  }
  await store.close()
  return dir
}

async function fileEndingWith(dir: string, ending: string): Promise<string> {
  const name = (await readdir(dir)).find((name) => name.endsWith(ending))
  assert.ok(name, `no ${ending} file in ${dir}`)
  return join(dir, name)
}

/** Flips every bit of `file` in [from, to). */
async function garble(file: string, from: number, to: number): Promise<void> {
  const data = await readFile(file)
  for (let i = from; i < Math.min(to, data.length); i++) data[i]! ^= 0xff
  await writeFile(file, data)
}

/** Asserts that opening `dir` fails for `reason`, in one sentence that names the folder and matches `says`. */
async function refused(dir: string, reason: DataFolderReason, says: RegExp): Promise<void> {
  await assert.rejects(Store.open(dir), (error: unknown) => {
    assert.ok(error instanceof DataFolderError, `not a DataFolderError: ${error}`)
    assert.equal(error.reason, reason)
    assert.ok(error.message.includes(dir), error.message)
    assert.match(error.message, /^[^\n]+\.$/)
    assert.match(error.message, says)
    return true
  })
}

const repairHint = (dir: string) => new RegExp(`run \`npm run repair -- ${dir}\``)

async function keysOf(dir: string): Promise<string[]> {
  const store = await Store.open(dir)
  const keys = await store.db.keys().all()
  await store.close()
  return keys
}

describe('opening a data folder', () => {
  it('an absent folder and an empty one become new databases', async () => {
    for (const dir of [folder(), folder()]) {
      if (dir.endsWith('2')) await mkdir(dir)
      const store = await Store.open(dir)
      await store.batch([put('k', 'v')])
      await store.close()
      assert.deepEqual(await keysOf(dir), ['k'])
    }
  })

  it('a folder that lost its CURRENT file is refused and left as it was, and repair brings back all its data', async () => {
    const dir = await folderWithData()
    await rm(join(dir, 'CURRENT'))
    const files = await readdir(dir)
    await refused(dir, 'missing-current', repairHint(dir))
    assert.deepEqual(await readdir(dir), files)

    const said: string[] = []
    const { backup, keys } = await repairDataFolder(dir, (line) => said.push(line))
    assert.equal(keys, TABLE_KEYS + LOG_KEYS)
    // The copy is taken once the folder is known to be free, which moves LevelDB's info log (LOG) aside.
    const data = (names: string[]) => names.filter((name) => !name.startsWith('LOG')).sort()
    assert.deepEqual(data(await readdir(backup)), data(files))
    assert.match(said[0]!, /^copied /)
    assert.ok(said.some((line) => /Repaired leveldb/.test(line)))
    assert.equal((await keysOf(dir)).length, TABLE_KEYS + LOG_KEYS)
  })

  it('a damaged write-ahead log is refused before LevelDB replays it, and repair keeps what survived', async () => {
    const dir = await folderWithData()
    const log = await fileEndingWith(dir, '.log')
    await garble(log, 2000, 2100)
    const damaged = await readFile(log)
    await refused(dir, 'corrupt', /write-ahead log \d+\.log fails its checksum/)
    await refused(dir, 'corrupt', repairHint(dir))
    assert.deepEqual(await readFile(log), damaged)

    await repairDataFolder(dir, () => undefined)
    const keys = await keysOf(dir)
    assert.equal(keys.filter((key) => key.startsWith('t')).length, TABLE_KEYS)
    const logged = keys.filter((key) => key.startsWith('l')).length
    assert.ok(logged > 0 && logged < LOG_KEYS, `${logged} of the log's keys survived`)
  })

  it('a truncated table is refused at open, not met later by a read', async () => {
    const dir = await folderWithData()
    const table = await fileEndingWith(dir, '.ldb')
    await truncate(table, 10_000)
    await refused(dir, 'corrupt', /table \d+\.ldb is 10000 bytes long/)
  })

  it('a table with a garbled block is refused at open, with the repair hint', async () => {
    const dir = await folderWithData()
    await garble(await fileEndingWith(dir, '.ldb'), 5000, 5010)
    await refused(dir, 'corrupt', /table \d+\.ldb fails its checksum/)
    await refused(dir, 'corrupt', repairHint(dir))
  })

  it('a damaged MANIFEST is refused with LevelDB’s words and the repair hint', async () => {
    const dir = await folderWithData()
    await garble(await fileEndingWith(dir, (await readFile(join(dir, 'CURRENT'), 'utf8')).trim()), 10, 20)
    await refused(dir, 'corrupt', /LevelDB: Corruption/)
    await refused(dir, 'corrupt', repairHint(dir))
  })

  it('a path that is a file is refused', async () => {
    const file = folder()
    await writeFile(file, 'notes')
    await refused(file, 'not-a-folder', /is not a folder/)
    await refused(join(file, 'data'), 'not-a-folder', /is not a folder/)
  })

  it('a folder of other files is refused and nothing is created in it', async () => {
    const dir = folder()
    await mkdir(dir)
    await writeFile(join(dir, 'notes.txt'), 'mine')
    await refused(dir, 'not-a-database', /holds other files/)
    assert.deepEqual(await readdir(dir), ['notes.txt'])
  })

  it('a folder in use by another localbot is refused, and repair will not touch it', async () => {
    const dir = await folderWithData()
    const running = await Store.open(dir)
    await assert.rejects(Store.open(dir), (error: unknown) => error instanceof DataFolderInUseError && error.reason === 'in-use' && /in use by another localbot/.test(error.message))
    await assert.rejects(repairDataFolder(dir, () => undefined), DataFolderInUseError)
    assert.equal((await readdir(root)).some((name) => name.startsWith(`${basename(dir)}.backup-`)), false)
    await running.close()
  })

  it('a folder that cannot be written is refused as read-only', { skip: process.getuid?.() === 0 && 'root writes anywhere' }, async () => {
    const dir = await folderWithData()
    await chmod(dir, 0o555)
    try {
      await refused(dir, 'read-only', /cannot be written/)
    } finally {
      await chmod(dir, 0o755)
    }
  })

  it('LevelDB’s open errors become reasons: permission is read-only, the rest keep LevelDB’s words', () => {
    const fromLevel = (code: string, message: string) => Object.assign(new Error('Database failed to open'), { code: 'LEVEL_DATABASE_NOT_OPEN', cause: Object.assign(new Error(message), { code }) })
    const readOnly = openFailure('/srv/data', fromLevel('LEVEL_IO_ERROR', 'IO error: /srv/data/LOCK: Permission denied'))
    assert.equal(readOnly.reason, 'read-only')
    const other = openFailure('/srv/data', fromLevel('LEVEL_IO_ERROR', 'IO error: /srv/data/000012.log: Too many open files'))
    assert.equal(other.reason, 'failed')
    assert.match(other.message, /Too many open files\.$/)
    assert.ok(openFailure('/srv/data', fromLevel('LEVEL_LOCKED', 'IO error: lock /srv/data/LOCK: Resource temporarily unavailable')) instanceof DataFolderInUseError)
  })
})

describe('fsync', () => {
  /** Opens a store whose database records the options of every write. */
  async function recording(options: { fsync?: boolean }) {
    const store = await Store.open(folder(), options)
    const seen: { sync?: boolean }[] = []
    const db = store.db as unknown as { _batch: (ops: unknown, options: { sync?: boolean }) => Promise<void> }
    const write = db._batch.bind(db)
    db._batch = (ops, options) => {
      seen.push(options)
      return write(ops, options)
    }
    await store.batch([put('a', '1')])
    await store.flush()
    await store.batch([put('b', '2')])
    await store.close()
    return seen.map((options) => options.sync)
  }

  it('with fsync every group commit asks LevelDB to sync; without, none does', async () => {
    assert.deepEqual(await recording({ fsync: true }), [true, true])
    assert.deepEqual(await recording({}), [false, false])
  })
})
