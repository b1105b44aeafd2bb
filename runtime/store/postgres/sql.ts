/** Where the store's rows live: a schema and a table name, both plain identifiers (checked by `tableOf`). */
export type Table = { schema: string; name: string }

/** A range as abstract-level gives it, and whether values are read too. */
export type Bounds = { gt?: string | Buffer; gte?: string | Buffer; lt?: string | Buffer; lte?: string | Buffer; reverse?: boolean; values?: boolean }

/** A statement with its parameters; `name` makes it a prepared statement (parsed once per connection). */
export type Query = { name?: string; text: string; values: unknown[] }

const identifier = /^[a-z_][a-z0-9_]{0,62}$/

/** The table of a schema, refusing names that would need quoting (they are put into SQL text as they are). */
export function tableOf(schema: string, name = 'localbot_kv'): Table {
  for (const part of [schema, name]) if (!identifier.test(part)) throw new Error(`${JSON.stringify(part)} is not a plain lower-case SQL name (a-z, 0-9, _)`)
  return { schema, name }
}

/**
 * Bytes of a key the order index holds. A btree entry holds at most about 2.7 KB and a key can be longer
 * (a 1,000-character tag value in an index key, in three-byte characters), so no index holds whole keys:
 * one holds each key's first bytes, in whose order the keys come (ties, keys sharing their first 1,024
 * bytes, are put in order by an incremental sort), and a unique one holds each key's SHA-256, which is
 * what a key is found and replaced by.
 */
const HEAD = 1024
const head = (column: string) => `substr(${column}, 1, ${HEAD})`

/** The statements of one table: every one is a single round trip. */
export function statements({ schema, name }: Table) {
  const table = `${schema}.${name}`
  const hashes = `ARRAY(SELECT sha256(k) FROM unnest($1::bytea[]) AS k)`
  return {
    /** Creates the table and its two indexes if missing. */
    create: `CREATE SCHEMA IF NOT EXISTS ${schema};
      CREATE TABLE IF NOT EXISTS ${table} (key bytea NOT NULL, value text NOT NULL);
      CREATE UNIQUE INDEX IF NOT EXISTS ${name}_key ON ${table} (sha256(key));
      CREATE INDEX IF NOT EXISTS ${name}_order ON ${table} (${head('key')})`,

    /** The rows of some keys, in any order. */
    get: (keys: Buffer[]): Query => ({ name: 'kv_get', text: `SELECT key, value FROM ${table} WHERE sha256(key) = ANY(${hashes})`, values: [keys] }),

    /** Deletes some keys and upserts others (no key in both): one statement, so atomic. */
    batch: (dels: Buffer[], putKeys: Buffer[], putValues: string[]): Query => ({
      name: 'kv_batch',
      text: `WITH gone AS (DELETE FROM ${table} WHERE sha256(key) = ANY(${hashes}))
        INSERT INTO ${table} (key, value) SELECT * FROM unnest($2::bytea[], $3::text[])
        ON CONFLICT ((sha256(key))) DO UPDATE SET value = excluded.value`,
      values: [dels, putKeys, putValues],
    }),

    /**
     * A page of a range's keys (and values), in key order or reversed, `limit` at most (null: all). Each shape
     * of bounds is its own prepared statement, named after it: conditions always there (no `$1 IS NULL OR`)
     * let the planner walk the order index for every shape. Each bound on a key is repeated on its head,
     * which it implies, for the index.
     */
    range(bounds: Bounds, limit: number | null): Query {
      const where: string[] = []
      const values: unknown[] = []
      let shape = ''
      for (const [option, operator] of [['gt', '>'], ['gte', '>='], ['lt', '<'], ['lte', '<=']] as const) {
        const bound = bounds[option]
        if (bound === undefined) continue
        values.push(typeof bound === 'string' ? Buffer.from(bound, 'utf8') : bound)
        const at = `$${values.length}::bytea`
        where.push(`${head('key')} ${operator.slice(0, 1)}= ${head(at)} AND key ${operator} ${at}`)
        shape += option
      }
      values.push(limit)
      const order = bounds.reverse ? 'DESC' : 'ASC'
      return {
        name: `kv_range_${shape}_${order}_${bounds.values ? 'kv' : 'k'}`,
        text: `SELECT key${bounds.values ? ', value' : ''} FROM ${table}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
          ORDER BY ${head('key')} ${order}, key ${order} LIMIT $${values.length}`,
        values,
      }
    },

    /** Deletes a range's keys, `limit` at most. */
    clear(bounds: Bounds, limit: number | null): Query {
      const range = this.range({ ...bounds, values: false }, limit)
      return { text: `DELETE FROM ${table} WHERE sha256(key) IN (SELECT sha256(key) FROM (${range.text}) AS doomed)`, values: range.values }
    },
  }
}

/** The statements of a table. */
export type Statements = ReturnType<typeof statements>
