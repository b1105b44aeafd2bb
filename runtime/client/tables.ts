import { z } from 'zod'
import * as layout from '../store/layout.ts'
import type { Op } from '../store/store.ts'
import { jsonPayload, nowIso, operation, tagsMatch, tagsSchema, withLocks, type ClientContext } from './common.ts'
import { InvalidPayloadError, PayloadTooLargeError, ResourceNotFoundError } from './errors.ts'
import { putJson } from './indexing.ts'
import { compareColumn, compileFilter, valueAt, type RowPredicate } from './row-filter.ts'
import { columnTypes, declaredTable, isObject, jsonSchemaCheck, schemaCheck, type RowCheck, type Table } from './table-schema.ts'

export { tablesOf, type Table } from './table-schema.ts'

/**
 * Botpress's Tables API over the store: the tables of the bot's definition (and those getOrCreateTable makes),
 * rows validated against their table's schema, numbered from 1 per table. Every write (any number of rows) is
 * one batch under the table's lock, so a call is applied whole or not at all, also across a crash, and a call
 * with one bad row writes nothing. Finds read the whole table: local tables are small (Botpress's free plan
 * stops at 10,000 rows).
 */

/** A row, as Botpress's client returns it: its columns and system fields. */
export type Row = Record<string, unknown> & { id: number; createdAt: string; updatedAt: string; computed: Record<string, never>; stale: string[] }

/** A row as stored: its columns, id and times. */
type StoredRow = Record<string, unknown> & { id: number; createdAt: string; updatedAt: string }

/** Fields of a row that are not columns: a row's input cannot set them. */
const systemFields = new Set(['id', 'createdAt', 'updatedAt', 'computed', 'stale', 'similarity'])

/** Bytes of a row per unit of its table's factor, as Botpress Cloud's limit. */
const ROW_BYTES_PER_FACTOR = 4096

/** Botpress's rule for table names (its ADK documents it; the cloud refuses other names). */
const tableNamePattern = /^[A-Za-z_$][A-Za-z0-9_]{0,29}Table$/

/** A table ready for rows: its Botpress shape and its row check. */
type OpenTable = { table: Table; check: RowCheck }

/** A table made by getOrCreateTable, as stored. */
type StoredTable = Table

/** The table of a name: the definition's, else one getOrCreateTable made; ResourceNotFound for any other name. */
async function openTable(ctx: ClientContext, name: string): Promise<OpenTable> {
  if (Object.hasOwn(ctx.tables, name)) return { table: declaredTable(name, ctx.tables[name]!), check: schemaCheck(ctx.tables[name]!.schema) }
  const stored = await ctx.store.getJson<StoredTable>(layout.tables.record(ctx.botId, name))
  if (!stored) throw new ResourceNotFoundError(`table ${JSON.stringify(name)} not found: declare it in the bot definition's tables`)
  return { table: stored, check: jsonSchemaCheck(stored.schema) }
}

/** The columns of a row's input, checked against the table; InvalidPayload naming the row and column, or PayloadTooLarge. */
function checkedColumns(call: string, open: OpenTable, input: Record<string, unknown>, at: number): Record<string, unknown> {
  const { payload } = jsonPayload(call, `rows.${at}`, input)
  const columns = new Map(Object.entries(payload).filter(([name]) => !systemFields.has(name)))
  const result = open.check(Object.fromEntries(columns))
  if (!result.ok) {
    const path = [`rows.${at}`, ...result.path.map(String)].join('.')
    throw new InvalidPayloadError(`${call}: ${path}: ${result.message} (table ${JSON.stringify(open.table.name)})`)
  }
  const bytes = Buffer.byteLength(JSON.stringify(result.columns))
  const limit = ROW_BYTES_PER_FACTOR * open.table.factor
  if (bytes > limit) throw new PayloadTooLargeError(`${call}: rows.${at}: ${bytes} bytes, over the limit of ${limit} (4 KB per unit of the table's factor, ${open.table.factor})`)
  return result.columns
}

/** A row's columns, without its system fields. */
function columnsOf(row: StoredRow): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([name]) => !systemFields.has(name)))
}

function botpressRow(row: StoredRow): Row {
  return { ...row, computed: {}, stale: [] }
}

async function allRows(ctx: ClientContext, table: string): Promise<StoredRow[]> {
  const entries = await ctx.store.entries(layout.tables.rowsRange(ctx.botId, table))
  return entries.map(([, value]) => JSON.parse(value) as StoredRow)
}

async function countRows(ctx: ClientContext, table: string): Promise<number> {
  return (await ctx.store.keys(layout.tables.rowsRange(ctx.botId, table))).length
}

/**
 * Runs a write of a table's rows under its lock: `fn` gets the table and a way to give out row ids, and returns
 * the rows to put (and ops besides); they are written in one batch with the last id given.
 */
function writeRows<T>(
  ctx: ClientContext,
  name: string,
  fn: (open: OpenTable, nextId: () => number) => Promise<{ put: StoredRow[]; ops?: Op[]; answer: T }>,
): Promise<T> {
  return withLocks(ctx, [['t', name]], async () => {
    const open = await openTable(ctx, name)
    let last = (await ctx.store.getJson<number>(layout.tables.lastRowId(ctx.botId, name))) ?? 0
    const given = last
    const { put, ops = [], answer } = await fn(open, () => ++last)
    const batch = [...ops, ...put.map((row) => putJson(layout.tables.row(ctx.botId, name, row.id), row))]
    if (last !== given) batch.push(putJson(layout.tables.lastRowId(ctx.botId, name), last))
    await ctx.store.batch(batch)
    return answer
  })
}

const tableName = z.string().min(1).max(200)
const rowInput = z.record(z.string(), z.unknown())
// Row ids are key segments of 15 digits (intSegment).
const rowId = z.number().int().min(1).max(10 ** 15 - 1)
const filterSchema = z.record(z.string(), z.unknown())

const findSchema = z.object({
  table: tableName,
  limit: z.number().int().min(1).max(1000).optional(),
  offset: z.number().int().min(0).optional(),
  filter: filterSchema.optional(),
  group: filterSchema.optional(),
  search: z.string().max(1024).optional(),
  select: z.array(z.string().min(1)).optional(),
  orderBy: z.string().min(1).optional(),
  orderDirection: z.enum(['asc', 'desc']).optional(),
})

/** Whether a row holds `search` (case-insensitive) in one of its text columns: localbot's stand-in for semantic search. */
function holds(row: StoredRow, search: string): boolean {
  const wanted = search.toLowerCase()
  return Object.entries(columnsOf(row)).some(([, value]) => typeof value === 'string' && value.toLowerCase().includes(wanted))
}

/** The row with only the `select`ed columns (dot paths reach into objects), and its system fields. */
function selected(row: Row, select: string[] | undefined): Row {
  if (!select) return row
  const out = new Map<string, unknown>()
  for (const name of Object.keys(row)) if (systemFields.has(name)) out.set(name, row[name])
  for (const path of select) {
    const value = valueAt(row, path)
    if (value !== undefined) out.set(path, value)
  }
  return Object.fromEntries(out) as Row
}

/** Table and row operations of the API. */
export const tableOps = {
  /** The tables of the bot: its definition's and those getOrCreateTable made, filtered by tags. */
  listTables: operation({
    route: { method: 'GET', path: '/v1/tables' },
    input: z.object({ tags: tagsSchema.optional() }),
    run: async (ctx, input) => {
      const declared = Object.entries(ctx.tables).map(([name, d]) => declaredTable(name, d))
      const stored = (await ctx.store.entries(layout.tables.recordsRange(ctx.botId))).map(([, value]) => JSON.parse(value) as StoredTable)
      return { tables: [...declared, ...stored].filter((t) => tagsMatch(t.tags, input.tags)) }
    },
  }),

  /** A table with its row count. */
  getTable: operation({
    route: { method: 'GET', path: '/v1/tables/{table}' },
    input: z.object({ table: tableName }),
    run: async (ctx, input) => {
      const { table } = await openTable(ctx, input.table)
      return { table, rows: await countRows(ctx, table.name), stale: 0, indexing: 0 }
    },
  }),

  /**
   * The table of a name: the definition's, or one made before, else a new one with the given JSON schema (columns
   * of type string, number, boolean, object, array or null) and a name as Botpress's rule wants (ends with `Table`).
   */
  getOrCreateTable: operation({
    route: { method: 'POST', path: '/v1/tables/{table}' },
    input: z.object({
      table: tableName,
      factor: z.number().int().min(1).max(30).optional(),
      frozen: z.boolean().optional(),
      keyColumn: z.string().min(1).nullable().optional(),
      schema: z.record(z.string(), z.unknown()),
      tags: tagsSchema.optional(),
      isComputeEnabled: z.boolean().optional(),
    }),
    run: (ctx, input) =>
      withLocks(ctx, [['t', input.table]], async () => {
        const created = !Object.hasOwn(ctx.tables, input.table) && (await ctx.store.get(layout.tables.record(ctx.botId, input.table))) === undefined
        if (created) {
          if (!tableNamePattern.test(input.table))
            throw new InvalidPayloadError(`getOrCreateTable: table: ${JSON.stringify(input.table)} must start with a letter, _ or $, hold only letters, digits and _, end with "Table", 35 characters at most`)
          const { payload: schema } = jsonPayload('getOrCreateTable', 'schema', input.schema)
          const properties = isObject(schema.properties) ? schema.properties : bad('schema.properties', 'must be an object of columns')
          for (const [name, column] of Object.entries(properties))
            if (!isObject(column) || !(columnTypes as readonly unknown[]).includes(column.type)) bad(`schema.properties.${name}.type`, `must be one of ${columnTypes.join(', ')}`)
          const now = nowIso(ctx)
          const table: StoredTable = {
            id: ctx.ids('table'), name: input.table, factor: input.factor ?? 1, frozen: input.frozen ?? false, schema: { ...schema, type: 'object', additionalProperties: true },
            tags: input.tags ?? {}, isComputeEnabled: false, createdAt: now, updatedAt: now,
          }
          if (input.keyColumn !== undefined) table.keyColumn = input.keyColumn
          await ctx.store.batch([putJson(layout.tables.record(ctx.botId, input.table), table)])
        }
        const { table } = await openTable(ctx, input.table)
        return { table, created, rows: await countRows(ctx, table.name), stale: 0, indexing: 0 }
      }),
  }),

  /** One row by id. */
  getTableRow: operation({
    route: { method: 'GET', path: '/v1/tables/{table}/row' },
    input: z.object({ table: tableName, id: rowId }),
    run: async (ctx, input) => {
      await openTable(ctx, input.table)
      const row = await ctx.store.getJson<StoredRow>(layout.tables.row(ctx.botId, input.table, input.id))
      if (!row) throw new ResourceNotFoundError(`row ${input.id} of table ${JSON.stringify(input.table)} not found`)
      return { row: botpressRow(row) }
    },
  }),

  /** Adds rows (1 to 1,000), each checked against the table's schema, numbered on from the table's last id. */
  createTableRows: operation({
    route: { method: 'POST', path: '/v1/tables/{table}/rows' },
    input: z.object({ table: tableName, rows: z.array(rowInput).min(1).max(1000), waitComputed: z.boolean().optional() }),
    run: (ctx, input) =>
      writeRows(ctx, input.table, async (open, nextId) => {
        const now = nowIso(ctx)
        const rows = input.rows.map((row, i) => ({ ...checkedColumns('createTableRows', open, row, i), id: nextId(), createdAt: now, updatedAt: now }))
        return { put: rows, answer: { rows: rows.map(botpressRow) } }
      }),
  }),

  /**
   * Rows that match `filter` (and hold `search` in a text column), ordered by `orderBy` (default id) and
   * `orderDirection` (default asc), `limit` (default 100) from `offset`, with the `select`ed columns.
   */
  findTableRows: operation({
    route: { method: 'POST', path: '/v1/tables/{table}/rows/find' },
    input: findSchema,
    run: async (ctx, input) => {
      if (input.group !== undefined) throw new InvalidPayloadError('findTableRows: group: aggregations are not simulated by localbot')
      const matches = input.filter === undefined ? () => true : compileFilter(input.filter, 'findTableRows: filter')
      await openTable(ctx, input.table)
      const found = (await allRows(ctx, input.table)).filter((row) => matches(row) && (input.search === undefined || holds(row, input.search)))
      const by = input.orderBy ?? 'id'
      const sign = input.orderDirection === 'desc' ? -1 : 1
      found.sort((a, b) => sign * compareColumn(valueAt(a, by), valueAt(b, by)) || a.id - b.id)
      const offset = input.offset ?? 0
      const limit = input.limit ?? 100
      const rows = found.slice(offset, offset + limit).map((row) => selected({ ...botpressRow(row), ...(input.search === undefined ? {} : { similarity: 1 }) }, input.select))
      return { rows, hasMore: offset + limit < found.length, offset, limit }
    },
  }),

  /** Changes rows by id: the given columns replace theirs, the result is checked against the schema. */
  updateTableRows: operation({
    route: { method: 'PUT', path: '/v1/tables/{table}/rows' },
    input: z.object({ table: tableName, rows: z.array(rowInput.and(z.object({ id: rowId }))).min(1).max(1000), waitComputed: z.boolean().optional() }),
    run: (ctx, input) =>
      writeRows(ctx, input.table, async (open) => {
        const now = nowIso(ctx)
        const found = await ctx.store.getManyJson<StoredRow>(input.rows.map((r) => layout.tables.row(ctx.botId, input.table, r.id)))
        // One row named twice takes both changes, in order.
        const byId = new Map<number, StoredRow>()
        input.rows.forEach((change, i) => {
          const row = byId.get(change.id) ?? found[i]
          if (!row) throw new ResourceNotFoundError(`updateTableRows: rows.${i}.id: row ${change.id} of table ${JSON.stringify(input.table)} not found`)
          byId.set(change.id, { ...checkedColumns('updateTableRows', open, { ...columnsOf(row), ...change }, i), id: row.id, createdAt: row.createdAt, updatedAt: now })
        })
        const rows = [...byId.values()]
        return { put: rows, answer: { rows: rows.map(botpressRow) } }
      }),
  }),

  /**
   * Updates the rows whose `keyColumn` (the call's, else the table's, else `id`) has the value of a given row,
   * and adds the others; one batch.
   */
  upsertTableRows: operation({
    route: { method: 'POST', path: '/v1/tables/{table}/rows/upsert' },
    input: z.object({ table: tableName, rows: z.array(rowInput).min(1).max(1000), keyColumn: z.string().min(1).optional(), waitComputed: z.boolean().optional() }),
    run: (ctx, input) =>
      writeRows(ctx, input.table, async (open, nextId) => {
        const now = nowIso(ctx)
        const keyColumn = input.keyColumn ?? open.table.keyColumn ?? 'id'
        // The rows by their key's value (JSON), the oldest first when several share one.
        const byKey = new Map<string, StoredRow>()
        for (const row of (await allRows(ctx, input.table)).reverse()) {
          const value = valueAt(row, keyColumn)
          if (value !== undefined) byKey.set(JSON.stringify(value), row)
        }
        const inserted = new Map<number, StoredRow>()
        const updated = new Map<number, StoredRow>()
        input.rows.forEach((given, i) => {
          const value = keyColumn === 'id' ? given.id : valueAt(given, keyColumn)
          const existing = value === undefined ? undefined : byKey.get(JSON.stringify(value))
          const row: StoredRow = existing
            ? { ...checkedColumns('upsertTableRows', open, { ...columnsOf(existing), ...given }, i), id: existing.id, createdAt: existing.createdAt, updatedAt: now }
            : { ...checkedColumns('upsertTableRows', open, given, i), id: nextId(), createdAt: now, updatedAt: now }
          ;(existing && !inserted.has(existing.id) ? updated : inserted).set(row.id, row)
          const key = valueAt(row, keyColumn)
          if (key !== undefined) byKey.set(JSON.stringify(key), row)
        })
        const rows = [...inserted.values(), ...updated.values()]
        return { put: rows, answer: { inserted: [...inserted.values()].map(botpressRow), updated: [...updated.values()].map(botpressRow) } }
      }),
  }),

  /** Deletes rows by `ids`, by `filter`, or all of them (`deleteAllRows`); answers how many went. */
  deleteTableRows: operation({
    route: { method: 'POST', path: '/v1/tables/{table}/rows/delete' },
    input: z
      .object({ table: tableName, ids: z.array(rowId).max(1000).optional(), filter: filterSchema.optional(), deleteAllRows: z.boolean().optional() })
      .refine((i) => [i.ids, i.filter, i.deleteAllRows || undefined].filter((x) => x !== undefined).length === 1, {
        message: 'give one of ids, filter or deleteAllRows: true',
        path: ['ids'],
      }),
    run: (ctx, input) => {
      const matches: RowPredicate | undefined = input.filter === undefined ? undefined : compileFilter(input.filter, 'deleteTableRows: filter')
      return writeRows(ctx, input.table, async () => {
        let keys: string[]
        if (input.ids !== undefined) {
          const ids = [...new Set(input.ids)]
          const found = await ctx.store.getMany(ids.map((id) => layout.tables.row(ctx.botId, input.table, id)))
          keys = ids.filter((_, i) => found[i] !== undefined).map((id) => layout.tables.row(ctx.botId, input.table, id))
        } else keys = (await allRows(ctx, input.table)).filter((row) => matches?.(row) ?? true).map((row) => layout.tables.row(ctx.botId, input.table, row.id))
        return { put: [], ops: keys.map((key) => ({ type: 'del', key }) as const), answer: { deletedRows: keys.length } }
      })
    },
  }),
}

function bad(field: string, message: string): never {
  throw new InvalidPayloadError(`getOrCreateTable: ${field}: ${message}`)
}
