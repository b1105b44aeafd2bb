import type { RowSchema, TableDefinition } from './common.ts'

/**
 * A table's shape and the check of its rows: a definition's table has a zui schema (checked as a state's
 * payload is, and shown as Botpress's JSON schema), a table getOrCreateTable made has the JSON schema it was
 * given (checked column by column).
 */

/** A table, as Botpress's client returns it. */
export type Table = {
  id: string
  name: string
  factor: number
  frozen: boolean
  keyColumn?: string | null
  schema: Record<string, unknown>
  tags: Record<string, string>
  isComputeEnabled: boolean
  createdAt?: string
  updatedAt?: string
}

/** The definition's tables, with its plugins', as the client takes them. */
export function tablesOf(definition: unknown): Record<string, TableDefinition> {
  const d = definition as { tables?: Record<string, TableDefinition>; withPlugins?: { tables?: Record<string, TableDefinition> } } | undefined
  const tables: Record<string, TableDefinition> = Object.create(null)
  for (const [name, table] of Object.entries(d?.withPlugins?.tables ?? d?.tables ?? {}))
    if (typeof table?.schema?.safeParse === 'function') tables[name] = table
  return tables
}

/** The check of a row's columns: the columns to store, or the first problem (its path and message). */
export type RowCheck = (columns: Record<string, unknown>) => { ok: true; columns: Record<string, unknown> } | { ok: false; path: PropertyKey[]; message: string }

/** The types a column of a JSON schema may have, as Botpress's tables take them. */
export const columnTypes = ['string', 'number', 'boolean', 'object', 'array', 'null'] as const
type ColumnSpec = { type: (typeof columnTypes)[number]; nullable?: boolean; enum?: unknown[] }

/** Whether a value is a JSON object (not an array, not null). */
export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
}

/** The check of a definition's table: its zui schema, as a state's payload is checked against its own. */
export function schemaCheck(schema: RowSchema): RowCheck {
  return (columns) => {
    const result = schema.safeParse(columns)
    if (result.success) return { ok: true, columns: result.data as Record<string, unknown> }
    const issue = result.error.issues[0]!
    return { ok: false, path: issue.path, message: issue.message }
  }
}

/**
 * The check of a table that getOrCreateTable made, from its JSON schema: each column's type (`nullable` lets
 * `null` in), `enum`, and `required`. Columns the schema does not name are dropped, as Botpress ignores them.
 */
export function jsonSchemaCheck(schema: Record<string, unknown>): RowCheck {
  const properties = (isObject(schema.properties) ? schema.properties : {}) as Record<string, ColumnSpec>
  const required = new Set(Array.isArray(schema.required) ? schema.required : [])
  return (columns) => {
    const kept = new Map<string, unknown>()
    for (const [name, spec] of Object.entries(properties)) {
      if (!Object.hasOwn(columns, name) || columns[name] === undefined) {
        if (required.has(name)) return { ok: false, path: [name], message: 'Required' }
        continue
      }
      const value = columns[name]
      const fits = typeOf(value) === spec.type || (value === null && spec.nullable === true)
      if (!fits) return { ok: false, path: [name], message: `expected ${spec.type}${spec.nullable ? ' or null' : ''}, received ${typeOf(value)}` }
      if (Array.isArray(spec.enum) && value !== null && !spec.enum.includes(value)) return { ok: false, path: [name], message: `must be one of ${spec.enum.join(', ')}` }
      kept.set(name, value)
    }
    return { ok: true, columns: Object.fromEntries(kept) }
  }
}

/** A zui schema as Botpress's JSON schema of a table: an object whose columns carry `x-zui.index`. */
function jsonSchemaOf(schema: RowSchema): Record<string, unknown> {
  let json: unknown
  try {
    json = schema.toJSONSchema?.()
  } catch {
    json = undefined
  }
  const base = isObject(json) ? json : {}
  const properties = Object.entries(isObject(base.properties) ? base.properties : {}).map(([name, column], index) => {
    const spec = isObject(column) ? column : {}
    return [name, { ...spec, 'x-zui': { ...(isObject(spec['x-zui']) ? spec['x-zui'] : {}), index } }] as const
  })
  return { ...base, type: 'object', properties: Object.fromEntries(properties), additionalProperties: true }
}

/** A declared table in Botpress's shape: its id is its name. */
export function declaredTable(name: string, d: TableDefinition): Table {
  const table: Table = { id: name, name, factor: d.factor ?? 1, frozen: d.frozen ?? false, schema: jsonSchemaOf(d.schema), tags: d.tags ?? {}, isComputeEnabled: false }
  if (d.keyColumn !== undefined) table.keyColumn = d.keyColumn
  return table
}
