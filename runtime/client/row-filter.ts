import { InvalidPayloadError } from './errors.ts'

/**
 * The filter language of findTableRows and deleteTableRows: MongoDB's, as Botpress documents it and its SDK
 * types it. A filter maps columns (dot paths reach into object columns) to a value (equality) or to operators
 * (`$eq`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte`, `$in`, `$nin`, `$exists`, `$regex` with `$options`, `$mod`, `$size`,
 * and `$not` around them); `$and`, `$or` and `$not` combine filters. A filter is compiled once, so that a
 * mistake in it is an InvalidPayload even over an empty table, and an unknown operator is refused rather than
 * matching nothing.
 */

/** A row as filters see it: its columns and id, createdAt, updatedAt. */
type Row = Record<string, unknown>
/** Whether a row matches. */
export type RowPredicate = (row: Row) => boolean

/** The longest `$regex`, in characters. */
const MAX_REGEX = 1000

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The value at a dot path of a row, through own properties only (`constructor` is no column of any row). */
export function valueAt(row: Row, path: string): unknown {
  let value: unknown = row
  for (const part of path.split('.')) {
    if (!isPlainObject(value) || !Object.hasOwn(value, part)) return undefined
    value = value[part]
  }
  return value
}

/** Deep equality of JSON values. */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => equal(item, b[i]))
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]))
  }
  return false
}

/** As MongoDB: `null` matches a missing column too. */
const eq = (value: unknown, wanted: unknown) => (wanted === null ? value === null || value === undefined : equal(value, wanted))

/** Orders two values of one type (numbers, strings, booleans); values of different types are not ordered. */
function order(a: unknown, b: unknown): number | undefined {
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string' && typeof a !== 'boolean')) return undefined
  return a! < b! ? -1 : a! > b! ? 1 : 0
}

/** Orders rows by one column for findTableRows: numbers, then strings, then the rest, missing values first. */
export function compareColumn(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (v === undefined || v === null ? 0 : typeof v === 'number' ? 1 : typeof v === 'string' ? 2 : typeof v === 'boolean' ? 3 : 4)
  return rank(a) - rank(b) || (order(a, b) ?? JSON.stringify(a).localeCompare(JSON.stringify(b)))
}

type Operator = (operand: unknown, where: string, all: Record<string, unknown>) => (value: unknown) => boolean

function bad(where: string, message: string): never {
  throw new InvalidPayloadError(`${where}: ${message}`)
}

const compare = (test: (sign: number) => boolean): Operator => (operand) => (value) => {
  const sign = order(value, operand)
  return sign !== undefined && test(sign)
}

const list = (operand: unknown, where: string): unknown[] => (Array.isArray(operand) ? operand : bad(where, 'must be a list'))

/** The operators of a column's condition, by name. */
const operators = new Map<string, Operator>([
  ['$eq', (operand) => (value) => eq(value, operand)],
  ['$ne', (operand) => (value) => !eq(value, operand)],
  ['$gt', compare((s) => s > 0)],
  ['$gte', compare((s) => s >= 0)],
  ['$lt', compare((s) => s < 0)],
  ['$lte', compare((s) => s <= 0)],
  ['$in', (operand, where) => ((values) => (value: unknown) => values.some((v) => eq(value, v)))(list(operand, where))],
  ['$nin', (operand, where) => ((values) => (value: unknown) => !values.some((v) => eq(value, v)))(list(operand, where))],
  ['$exists', (operand, where) => (typeof operand === 'boolean' ? (value) => (value !== undefined) === operand : bad(where, 'must be true or false'))],
  ['$size', (operand, where) => (Number.isInteger(operand) ? (value) => Array.isArray(value) && value.length === operand : bad(where, 'must be an integer'))],
  [
    '$mod',
    (operand, where) => {
      const [divisor, remainder] = list(operand, where)
      if (typeof divisor !== 'number' || divisor === 0 || typeof remainder !== 'number') bad(where, 'must be [divisor, remainder], numbers, the divisor not 0')
      return (value) => typeof value === 'number' && Math.trunc(value) % divisor === remainder
    },
  ],
  [
    '$regex',
    (operand, where, all) => {
      const options = all.$options ?? ''
      if (typeof operand !== 'string' || operand.length > MAX_REGEX) bad(where, `must be a pattern of at most ${MAX_REGEX} characters`)
      if (typeof options !== 'string' || !/^[imsu]*$/.test(options)) bad(`${where.slice(0, -'$regex'.length)}$options`, 'must be letters of i, m, s, u')
      let pattern: RegExp
      try {
        pattern = new RegExp(operand, options)
      } catch (error) {
        bad(where, (error as Error).message)
      }
      return (value) => typeof value === 'string' && pattern.test(value)
    },
  ],
  // Read by $regex.
  ['$options', () => () => true],
  ['$not', (operand, where) => ((inner) => (value: unknown) => !inner(value))(condition(operand, where))],
])

/** A column's condition: a value it must equal, or an object of operators that must all hold. */
function condition(spec: unknown, where: string): (value: unknown) => boolean {
  if (!isPlainObject(spec) || !Object.keys(spec).some((k) => k.startsWith('$'))) return (value) => eq(value, spec)
  const tests = Object.entries(spec).map(([name, operand]) => {
    const operator = operators.get(name)
    if (!operator) bad(`${where}.${name}`, `unknown operator (${[...operators.keys()].join(', ')})`)
    return operator(operand, `${where}.${name}`, spec)
  })
  return (value) => tests.every((test) => test(value))
}

/** Compiles a filter; InvalidPayload, naming `where` (the call and field) and the place, for any part of it not of the language. */
export function compileFilter(filter: unknown, where: string): RowPredicate {
  if (!isPlainObject(filter)) bad(where, 'must be an object')
  const tests = Object.entries(filter).map(([name, spec]): RowPredicate => {
    const at = `${where}.${name}`
    if (name === '$and' || name === '$or') {
      const parts = list(spec, at).map((part, i) => compileFilter(part, `${at}.${i}`))
      if (parts.length === 0) bad(at, 'must not be empty')
      return name === '$and' ? (row) => parts.every((p) => p(row)) : (row) => parts.some((p) => p(row))
    }
    if (name === '$not') {
      const inner = compileFilter(spec, at)
      return (row) => !inner(row)
    }
    if (name.startsWith('$')) bad(at, 'unknown operator ($and, $or, $not, or a column)')
    const test = condition(spec, at)
    return (row) => test(valueAt(row, name))
  })
  return (row) => tests.every((test) => test(row))
}
