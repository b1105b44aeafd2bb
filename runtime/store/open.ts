/**
 * Opening a data folder without losing it. Asked to create a missing database, LevelDB starts an empty one
 * over a folder that lost its CURRENT file (and then deletes the old tables); without paranoid checks, which
 * classic-level does not expose, it drops damaged log records silently and meets a damaged table only when a
 * read reaches it. So the folder is looked at first, the write-ahead logs are checked before LevelDB replays
 * them, and the live tables right after it opens: every open checks each one's length and footer, and a
 * table's block checksums are read once in its life (tables never change once written; `verifiedFile` keeps
 * the ones already read). Every failure is a DataFolderError whose message is one sentence: the cause, and
 * what to do.
 */
import { access, mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { constants } from 'node:fs'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'

/** Why a data folder did not open; stable codes, the message explains. */
export type DataFolderReason = 'in-use' | 'not-a-folder' | 'read-only' | 'not-a-database' | 'missing-current' | 'corrupt' | 'failed'

/** What each reason tells the user: `detail` is what was found (LevelDB's words or the check's). */
const advice: Record<DataFolderReason, (dir: string, detail: string) => string> = {
  'in-use': (dir) => `the data folder ${dir} is in use by another localbot: stop that one, or give this one another folder`,
  'not-a-folder': (dir, detail) => `the data folder ${dir} is not a folder (${detail}): give localbot a folder, or a path where one can be made`,
  'read-only': (dir, detail) => `the data folder ${dir} cannot be written (${detail}): make it writable, or give localbot another folder`,
  'not-a-database': (dir) => `the data folder ${dir} holds other files and no localbot data: give localbot an empty or new folder`,
  'missing-current': (dir) =>
    `the data folder ${dir} holds LevelDB files but no CURRENT file, so opening it would start an empty database over them: run ${repairCommand(dir)}, which keeps a copy of the folder first`,
  corrupt: (dir, detail) => `the data folder ${dir} is damaged (${detail}): run ${repairCommand(dir)}, which keeps a copy of the folder first`,
  failed: (dir, detail) => `LevelDB could not open the data folder ${dir}: ${detail}`,
}

/** A data folder that cannot be opened; `reason` is the stable code, `cause` the original error. */
export class DataFolderError extends Error {
  constructor(readonly reason: DataFolderReason, readonly location: string, detail = '', options?: ErrorOptions) {
    super(`${advice[reason](location, detail.replace(/\.$/, ''))}.`, options)
    this.name = 'DataFolderError'
  }
}

/** Another process (or this one) holds the data folder. */
export class DataFolderInUseError extends DataFolderError {
  constructor(location: string, options?: ErrorOptions) {
    super('in-use', location, '', options)
    this.name = 'DataFolderInUseError'
  }
}

/** The command that repairs `dir`, quoted for a shell when it needs to be. */
export function repairCommand(dir: string): string {
  const quoted = /^[\w@%+=:,./-]+$/.test(dir) ? dir : `'${dir.replaceAll("'", `'\\''`)}'`
  return `\`npm run repair -- ${quoted}\``
}

/** How a data folder is opened. */
export type OpenOptions = {
  /** Called after a table's block checksums were read and found right (once in a table's life). */
  onTableVerified?: (table: string) => void
}

/**
 * Opens (or, when the folder is empty or absent, creates) the LevelDB database in `location`, refusing a
 * folder whose database is missing or damaged.
 */
export async function openDataFolder(location: string, options: OpenOptions = {}): Promise<ClassicLevel<string, string>> {
  const create = await inspectFolder(location)
  if (!create) await checkLogs(location).catch((error: unknown) => Promise.reject(fileFailure(location, error)))
  const db = new ClassicLevel<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8', createIfMissing: create })
  try {
    await db.open()
  } catch (error) {
    throw openFailure(location, error)
  }
  try {
    if (!create) await checkTables(location, db.getProperty('leveldb.sstables'), options)
  } catch (error) {
    await db.close()
    throw fileFailure(location, error)
  }
  return db
}

/**
 * Raises DataFolderInUseError when a process holds `location`, without replaying its log: opening with
 * `errorIfExists` takes LevelDB's lock and stops right after. RepairDB takes no lock, so repair asks first.
 */
export async function refuseIfInUse(location: string): Promise<void> {
  const probe = new ClassicLevel(location, { createIfMissing: false, errorIfExists: true })
  const failure = await probe.open().then(
    () => undefined,
    (error: unknown) => error,
  )
  if (probe.status === 'open') await probe.close()
  if (failure && levelCode(failure) === 'LEVEL_LOCKED') throw new DataFolderInUseError(location, { cause: failure })
}

/** What a failed LevelDB open means. classic-level wraps the reason in `cause` (LEVEL_LOCKED, LEVEL_CORRUPTION, LEVEL_IO_ERROR). */
export function openFailure(location: string, error: unknown): DataFolderError {
  const code = levelCode(error)
  const text = levelMessage(error)
  if (code === 'LEVEL_LOCKED') return new DataFolderInUseError(location, { cause: error })
  if (code === 'LEVEL_CORRUPTION') return new DataFolderError('corrupt', location, `LevelDB: ${text}`, { cause: error })
  if (/Permission denied|Read-only file system|Operation not permitted/i.test(text)) return new DataFolderError('read-only', location, text, { cause: error })
  // CURRENT names a MANIFEST that is gone: RepairDB rebuilds one from the tables and logs.
  if (/MANIFEST-\d+: No such file/.test(text)) return new DataFolderError('corrupt', location, `LevelDB: ${text}`, { cause: error })
  return new DataFolderError('failed', location, text, { cause: error })
}

function levelCode(error: unknown): string | undefined {
  const e = error as { code?: string; cause?: { code?: string } }
  return e.cause?.code ?? e.code
}

function levelMessage(error: unknown): string {
  const e = error as { message?: string; cause?: { message?: string } }
  return e.cause?.message ?? e.message ?? String(error)
}

/**
 * The tables whose blocks were read and found right, as the file system saw them then (size in bytes,
 * modification time in ms). A table rewritten or replaced since (another size or time) is read again;
 * damage that changes neither, such as a card or disk going bad under an unchanged file, is met only
 * by a read that reaches it, and only when the damaged block no longer parses: LevelDB checks block
 * checksums on reads only with `verify_checksums`, which classic-level does not expose.
 */
export const verifiedFile = 'localbot-verified.json'

/** LevelDB's own files; the info log (LOG, LOG.old) and LOCK say nothing about data. */
const dataFile = /^(\d+\.(ldb|sst|log)|MANIFEST-\d+|CURRENT)$/
const bookkeeping = new Set(['LOCK', 'LOG', 'LOG.old', verifiedFile, `${verifiedFile}.tmp`])

/** Whether LevelDB may create the database (folder empty or absent); raises when the folder must not be opened. */
async function inspectFolder(location: string): Promise<boolean> {
  let names: string[]
  try {
    names = await readdir(location)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileFailure(location, error)
    await mkdir(location, { recursive: true }).catch((error: unknown) => Promise.reject(fileFailure(location, error)))
    return true
  }
  await access(location, constants.W_OK).catch((error: unknown) => Promise.reject(fileFailure(location, error)))
  const contents = names.filter((name) => !name.startsWith('.') && !bookkeeping.has(name))
  if (contents.length === 0) return true
  if (names.includes('CURRENT')) return false
  if (contents.some((name) => dataFile.test(name))) throw new DataFolderError('missing-current', location)
  throw new DataFolderError('not-a-database', location)
}

/** What a file system error (or a finding of the checks, passed through) means. */
function fileFailure(location: string, error: unknown): DataFolderError {
  if (error instanceof DataFolderError) return error
  const code = (error as NodeJS.ErrnoException).code
  const text = (error as Error).message
  if (code === 'ENOTDIR' || code === 'EEXIST') return new DataFolderError('not-a-folder', location, 'a file is in its place', { cause: error })
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new DataFolderError('read-only', location, text, { cause: error })
  return new DataFolderError('failed', location, text, { cause: error })
}

// LevelDB's file formats (doc/log_format.md, doc/table_format.md in its source), read only as far as the checksums.

/** Checks every record of the write-ahead logs; with paranoid checks off LevelDB would drop a damaged one silently. */
async function checkLogs(location: string): Promise<void> {
  for (const name of (await readdir(location)).filter((name) => name.endsWith('.log') && dataFile.test(name)).sort()) {
    const data = await ifPresent(readFile(join(location, name)))
    const problem = data && logProblem(data)
    if (problem) throw new DataFolderError('corrupt', location, `the write-ahead log ${name} ${problem}`)
  }
}

const LOG_BLOCK = 32768
const LOG_HEADER = 7
const [FULL, FIRST, MIDDLE, LAST] = [1, 2, 3, 4]

/** What LevelDB's log reader, with paranoid checks, would call corruption; a record cut short at the end is a crash mid-write, not damage. */
export function logProblem(data: Buffer): string | undefined {
  let inRecord = false
  for (let block = 0; block < data.length; block += LOG_BLOCK) {
    const end = Math.min(block + LOG_BLOCK, data.length)
    const lastBlock = end - block < LOG_BLOCK
    for (let at = block; end - at >= LOG_HEADER; ) {
      const length = data.readUInt16LE(at + 4)
      const type = data[at + 6]!
      if (at + LOG_HEADER + length > end) return lastBlock ? undefined : `has a bad record length at byte ${at}`
      // Zeros: a region the writer preallocated; LevelDB skips the rest of the block.
      if (type === 0 && length === 0) break
      if (unmask(data.readUInt32LE(at)) !== crc32c(data, at + 6, at + LOG_HEADER + length)) {
        // The last record, with nothing but zeros after it: a write torn by a crash or power loss, which
        // LevelDB drops as it replays (it was never synced, so nobody was answered for it with --fsync).
        if (data.subarray(at + LOG_HEADER + length).every((b) => b === 0)) return undefined
        return `fails its checksum at byte ${at}`
      }
      if (type < FULL || type > LAST) return `has an unknown record type at byte ${at}`
      if ((type === MIDDLE || type === LAST) !== inRecord) return `has a record cut in two at byte ${at}`
      inRecord = type === FIRST || type === MIDDLE
      at += LOG_HEADER + length
    }
  }
  return undefined
}

/** Checks the live tables LevelDB lists (`leveldb.sstables`): the length and footer of each, the blocks of those not verified yet. */
async function checkTables(location: string, sstables: string, { onTableVerified }: OpenOptions): Promise<void> {
  const known = await readVerified(location)
  const verified: Verified = {}
  for (const [, number, size] of sstables.matchAll(/^ (\d+):(\d+)\[/gm)) {
    const table = await openTable(location, number!)
    // A table gone since LevelDB listed it was compacted away.
    if (!table) continue
    const { name, file } = table
    try {
      const { size: length, mtimeMs } = await file.stat()
      const wasVerified = known[name]?.size === length && known[name].mtimeMs === mtimeMs
      const problem = wasVerified ? await lengthOrFooterProblem(file, length, Number(size)) : tableProblem(await file.readFile(), Number(size))
      if (problem) throw new DataFolderError('corrupt', location, `the table ${name} ${problem}`)
      verified[name] = { size: length, mtimeMs }
      if (!wasVerified) onTableVerified?.(name)
    } finally {
      await file.close()
    }
  }
  await writeVerified(location, known, verified)
}

/** Opens table `number` under either name LevelDB gives tables (`.sst` is older LevelDB's), or undefined when it is gone. */
async function openTable(location: string, number: string): Promise<{ name: string; file: FileHandle } | undefined> {
  const ldb = `${number.padStart(6, '0')}.ldb`
  for (const name of [ldb, ldb.replace('.ldb', '.sst')]) {
    const file = await ifPresent(open(join(location, name)))
    if (file) return { name, file }
  }
  return undefined
}

/** The problem of a table already verified, from its length and its last 48 bytes (all that is read). */
async function lengthOrFooterProblem(file: FileHandle, length: number, expected: number): Promise<string | undefined> {
  if (length !== expected) return lengthProblem(length, expected)
  if (length < FOOTER) return 'has no table footer'
  const { buffer, bytesRead } = await file.read(Buffer.alloc(FOOTER), 0, FOOTER, length - FOOTER)
  return bytesRead === FOOTER ? footerProblem(buffer, length) : 'has no table footer'
}

type Verified = Record<string, { size: number; mtimeMs: number }>

/** The record of verified tables; a missing, unreadable or malformed one means none is (all are read again). */
async function readVerified(location: string): Promise<Verified> {
  try {
    const { tables } = JSON.parse(await readFile(join(location, verifiedFile), 'utf8')) as { tables?: Verified }
    const entries = Object.entries(tables ?? {}).filter(([, seen]) => typeof seen?.size === 'number' && typeof seen.mtimeMs === 'number')
    return Object.fromEntries(entries)
  } catch {
    return {}
  }
}

/**
 * Replaces the record with `verified` (the live tables only, so gone ones are forgotten), through a
 * temporary file renamed over it so a crash leaves the old record or the new one. It is a cache: when
 * it cannot be written (a full disk) the next open reads those tables again, and the open goes on.
 */
async function writeVerified(location: string, known: Verified, verified: Verified): Promise<void> {
  const text = JSON.stringify({ tables: verified })
  if (text === JSON.stringify({ tables: known })) return
  const path = join(location, verifiedFile)
  try {
    await writeFile(`${path}.tmp`, text)
    await rename(`${path}.tmp`, path)
  } catch {
    await rm(`${path}.tmp`, { force: true }).catch(() => undefined)
  }
}

const FOOTER = 48
const TABLE_MAGIC = 0xdb4775248b80fb57n
const BLOCK_TRAILER = 5

/** Why a table file is damaged, or undefined; `expected` is the length LevelDB recorded for it. */
export function tableProblem(data: Buffer, expected: number): string | undefined {
  if (data.length !== expected) return lengthProblem(data.length, expected)
  if (data.length < FOOTER) return 'has no table footer'
  const problem = footerProblem(data.subarray(data.length - FOOTER), data.length)
  if (problem) return problem
  try {
    const footer = { data, at: data.length - FOOTER }
    const metaindex = blockHandle(footer)
    const index = blockHandle(footer)
    // Data and filter blocks need only their checksums: they are not uncompressed.
    for (const handle of [...blockEntries(readBlock(data, metaindex)), ...blockEntries(readBlock(data, index))]) checkBlock(data, handle)
    return undefined
  } catch (error) {
    return error instanceof TableDamage ? error.message : 'has a malformed block'
  }
}

function lengthProblem(length: number, expected: number): string {
  return `is ${length} bytes long where LevelDB recorded ${expected}`
}

/** Why a table's last 48 bytes are not a footer of a `length`-byte table: its magic number, and two block handles that point inside it. */
function footerProblem(footer: Buffer, length: number): string | undefined {
  if (footer.length !== FOOTER || footer.readBigUInt64LE(FOOTER - 8) !== TABLE_MAGIC) return 'has no table footer'
  try {
    const cursor = { data: footer.subarray(0, FOOTER - 8), at: 0 }
    for (const { offset, size } of [blockHandle(cursor), blockHandle(cursor)]) {
      if (offset + size + BLOCK_TRAILER > length - FOOTER) return 'has a footer that points past its end'
    }
    return undefined
  } catch {
    return 'has a malformed footer'
  }
}

/** A check's finding, as opposed to a slip of the parser over garbage. */
class TableDamage extends Error {}

type Handle = { offset: number; size: number }

/** A block's contents, its checksum checked, uncompressed. */
function readBlock(data: Buffer, handle: Handle): Buffer {
  checkBlock(data, handle)
  const contents = data.subarray(handle.offset, handle.offset + handle.size)
  const type = data[handle.offset + handle.size]
  if (type === 0) return contents
  if (type === 1) return unsnappy(contents)
  throw new TableDamage(`has a block of unknown compression at byte ${handle.offset}`)
}

/** Checks a block's checksum: it covers the stored (compressed) bytes and the compression type after them. */
function checkBlock(data: Buffer, { offset, size }: Handle): void {
  if (offset + size + BLOCK_TRAILER > data.length) throw new TableDamage(`points past its end at byte ${offset}`)
  if (unmask(data.readUInt32LE(offset + size + 1)) !== crc32c(data, offset, offset + size + 1)) throw new TableDamage(`fails its checksum in the block at byte ${offset}`)
}

/** The block handles a block's entries hold (the index's data blocks, the metaindex's filter block). */
function blockEntries(block: Buffer): Handle[] {
  const restarts = block.readUInt32LE(block.length - 4)
  const cursor = { data: block, at: 0 }
  const end = block.length - 4 * (restarts + 1)
  const handles: Handle[] = []
  while (cursor.at < end) {
    varint(cursor) // bytes shared with the previous key
    const unshared = varint(cursor)
    const valueLength = varint(cursor)
    cursor.at += unshared
    const value = { data: block.subarray(cursor.at, cursor.at + valueLength), at: 0 }
    handles.push(blockHandle(value))
    cursor.at += valueLength
  }
  return handles
}

type Cursor = { data: Buffer; at: number }

function blockHandle(cursor: Cursor): Handle {
  return { offset: varint(cursor), size: varint(cursor) }
}

function varint(cursor: Cursor): number {
  let value = 0
  for (let shift = 1; ; shift *= 128) {
    if (cursor.at >= cursor.data.length) throw new TableDamage('has a malformed block')
    const byte = cursor.data[cursor.at++]!
    value += (byte & 0x7f) * shift
    if (byte < 0x80) return value
  }
}

/** Snappy's raw format (format_description.txt): a length, then literals and back-references. */
function unsnappy(input: Buffer): Buffer {
  const cursor = { data: input, at: 0 }
  const out = Buffer.alloc(varint(cursor))
  let length = 0
  while (cursor.at < input.length) {
    const tag = input[cursor.at++]!
    if ((tag & 3) === 0) {
      let size = tag >>> 2
      if (size >= 60) {
        const bytes = size - 59
        size = input.readUIntLE(cursor.at, bytes)
        cursor.at += bytes
      }
      size += 1
      if (cursor.at + size > input.length || length + size > out.length) throw new TableDamage('has a block that does not uncompress')
      input.copy(out, length, cursor.at, cursor.at + size)
      cursor.at += size
      length += size
      continue
    }
    const [size, distance] =
      (tag & 3) === 1 ? [((tag >>> 2) & 7) + 4, ((tag >>> 5) << 8) | input[cursor.at++]!]
      : (tag & 3) === 2 ? [(tag >>> 2) + 1, input.readUInt16LE((cursor.at += 2) - 2)]
      : [(tag >>> 2) + 1, input.readUInt32LE((cursor.at += 4) - 4)]
    if (distance === 0 || distance > length || length + size > out.length) throw new TableDamage('has a block that does not uncompress')
    // Byte by byte: a reference may overlap what it writes.
    for (let i = 0; i < size; i++) out[length + i] = out[length - distance + i]!
    length += size
  }
  if (length !== out.length) throw new TableDamage('has a block that does not uncompress')
  return out
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
  return c
})

/** CRC-32C (Castagnoli) of `data[start, end)`, as LevelDB computes it. */
function crc32c(data: Buffer, start: number, end: number): number {
  let crc = -1
  for (let i = start; i < end; i++) crc = CRC_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ -1) >>> 0
}

/** LevelDB stores checksums rotated and offset (crc32c.h `Mask`), so a CRC of data holding CRCs is not fooled. */
function unmask(masked: number): number {
  const rotated = (masked - 0xa282ead8) >>> 0
  return ((rotated >>> 17) | (rotated << 15)) >>> 0
}

/** What `io` gives, or undefined when its file is not there. */
async function ifPresent<T>(io: Promise<T>): Promise<T | undefined> {
  try {
    return await io
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
