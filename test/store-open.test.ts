import { spawnSync } from 'node:child_process'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, truncate, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { ClassicLevel } from 'classic-level'
import { DataFolderError, DataFolderInUseError, openDataFolder, openFailure, verifiedFile, type DataFolderReason } from '../runtime/store/open.ts'
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

/** The live tables' files in `dir`, sorted. */
async function tablesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.ldb')).sort()
}

/** Opens `dir` as localbot does and closes it; returns the tables whose blocks that open read. */
async function tablesReadAtOpen(dir: string): Promise<string[]> {
  const read: string[] = []
  const db = await openDataFolder(dir, { onTableVerified: (table) => read.push(table) })
  await db.close()
  return read.sort()
}

/** A whole second: node's utimes passes times as float seconds, so only such a time is set back exactly. */
const PINNED = new Date('2024-01-01T00:00:00Z')

/** Sets `file`'s modification time to PINNED, as if a change of its bytes had left its time alone. */
async function pinTime(file: string): Promise<void> {
  await utimes(file, PINNED, PINNED)
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

  it('a last log record torn by a crash or power loss (garbled, only zeros after it) opens: LevelDB drops it', async () => {
    const dir = await folderWithData()
    const log = await fileEndingWith(dir, '.log')
    const data = await readFile(log)
    // The last record's payload half written, the rest of the block never reached the disk.
    data.fill(0xab, data.length - 20, data.length - 10)
    data.fill(0, data.length - 10)
    await writeFile(log, data)
    const keys = await keysOf(dir)
    assert.ok(keys.length >= TABLE_KEYS + LOG_KEYS - 1, `${keys.length} keys: all but the torn one`)
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

  it('a table truncated, or its footer garbled, after its blocks were verified is still refused at every open', async () => {
    const dir = await folderWithData()
    const table = await fileEndingWith(dir, '.ldb')
    await pinTime(table)
    assert.ok((await tablesReadAtOpen(dir)).includes(basename(table)), 'the first open read the table')
    const length = (await readFile(table)).length
    // The footer's magic number, in place and at the time the record holds.
    await garble(table, length - 8, length)
    await pinTime(table)
    await refused(dir, 'corrupt', /table \d+\.ldb has no table footer/)
    await refused(dir, 'corrupt', /table \d+\.ldb has no table footer/)
    await truncate(table, 10_000)
    await refused(dir, 'corrupt', /table \d+\.ldb is 10000 bytes long/)
    await refused(dir, 'corrupt', /table \d+\.ldb is 10000 bytes long/)
  })

  it('a table with a garbled block is refused at open, with the repair hint', async () => {
    const dir = await folderWithData()
    await garble(await fileEndingWith(dir, '.ldb'), 5000, 5010)
    await refused(dir, 'corrupt', /table \d+\.ldb fails its checksum/)
    await refused(dir, 'corrupt', repairHint(dir))
  })

  it('a table’s blocks are read at the first open after it was written and never again; the record forgets tables compacted away', async () => {
    const dir = await folderWithData()
    // The first open also writes the log it replays to a table.
    const read = await tablesReadAtOpen(dir)
    const tables = await tablesIn(dir)
    assert.ok(tables.length > 1, `tables: ${tables}`)
    assert.deepEqual(read, tables)
    assert.deepEqual(await tablesReadAtOpen(dir), [])
    assert.deepEqual(await tablesReadAtOpen(dir), [])

    const store = await Store.open(dir)
    await store.batch(Array.from({ length: TABLE_KEYS }, (_, i) => put(`u${i}`, `later record ${i} `.repeat(8))))
    await store.flush()
    await (store.db as unknown as ClassicLevel<string, string>).compactRange('a', 'z')
    await store.close()
    const now = await tablesIn(dir)
    const written = now.filter((name) => !tables.includes(name))
    assert.ok(written.length > 0, `tables: ${now}`)
    assert.deepEqual(await tablesReadAtOpen(dir), written)
    assert.deepEqual(Object.keys(JSON.parse(await readFile(join(dir, verifiedFile), 'utf8')).tables).sort(), now)
    assert.deepEqual(await tablesReadAtOpen(dir), [])
  })

  // What reading a table's blocks once does not catch: damage that leaves the file's length, footer and time as
  // they were (a card or disk going bad under it) passes every later open. LevelDB meets it only when a read
  // reaches the block, and checks no block checksum then (classic-level does not expose verify_checksums): a
  // block that no longer parses fails the read with LEVEL_CORRUPTION, but a changed byte inside a value of an
  // uncompressed block is read back as it now is. A write to the file changes its time, and that is caught.
  it('a table garbled after its blocks were verified opens while its length, footer and time are unchanged, and is refused once its time changes', async () => {
    const dir = folder()
    const store = await Store.open(dir)
    // Digests do not compress, so LevelDB stores the blocks as they are and a value's bytes can be found in the file.
    const value = (i: number) => createHash('sha512').update(String(i)).digest('base64')
    await store.batch(Array.from({ length: TABLE_KEYS }, (_, i) => put(`t${String(i).padStart(5, '0')}`, value(i))))
    await store.flush()
    await (store.db as unknown as ClassicLevel<string, string>).compactRange('t', 'u')
    await store.close()
    const table = await fileEndingWith(dir, '.ldb')
    await pinTime(table)
    assert.deepEqual(await tablesReadAtOpen(dir), [basename(table)])

    const data = await readFile(table)
    const at = data.indexOf(value(1000))
    assert.ok(at > 0, 'the value is stored as it is')
    data[at] = data[at] === 0x41 ? 0x42 : 0x41
    await writeFile(table, data)
    await pinTime(table)
    const db = await openDataFolder(dir)
    const read = await db.get('t01000')
    await db.close()
    assert.notEqual(read, value(1000))
    assert.equal(read!.slice(1), value(1000).slice(1))

    await utimes(table, new Date(PINNED.getTime() + 1000), new Date(PINNED.getTime() + 1000))
    await refused(dir, 'corrupt', /table \d+\.ldb fails its checksum/)
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

  it('a folder that cannot be written is refused as read-only', async () => {
    const dir = await folderWithData()
    await chmod(dir, 0o555)
    try {
      if (process.getuid?.() !== 0) await refused(dir, 'read-only', /cannot be written/)
      else {
        // Root writes anywhere: the open is tried by an unprivileged process (nobody), as a user would run it.
        const script = `import('./runtime/store/store.ts').then(({ Store }) => Store.open(${JSON.stringify(dir)})).then(() => console.log('opened'), (e) => console.log(e.reason + ': ' + e.message))`
        const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '-e', script], {
          encoding: 'utf8',
          env: { ...process.env, TSX_DISABLE_CACHE: '1' },
        })
        assert.match(run.stdout, new RegExp(`^read-only: the data folder ${dir} cannot be written`), run.stderr)
      }
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
