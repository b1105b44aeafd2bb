import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import pg from 'pg'
import { Store, type Db } from '../../runtime/store/store.ts'

/** A store backend the one compliance suite runs on; `skip` says why it cannot run here. */
export type Backend = { name: string; skip?: string; open(): Promise<{ store: Store; close(): Promise<void> }> }

/** Why the tests have no PostgreSQL database here (LOCALBOT_TEST_DATABASE_URL unset), if so. */
function noDatabase(): string | undefined {
  if (process.env.LOCALBOT_TEST_DATABASE_URL) return undefined
  return process.env.LOCALBOT_TEST_DATABASE_SKIPPED ?? 'LOCALBOT_TEST_DATABASE_URL is not set (npm test sets it when PostgreSQL is installed: see scripts/with-postgres.sh)'
}

/**
 * Why the PostgreSQL tests are skipped, if they are: scripts/with-postgres.sh (which `npm test` runs under)
 * starts a throwaway server when PostgreSQL is installed. In CI (CI=true), where .ci/run installs it, they
 * are never skipped: without a database they fail, saying why.
 */
export const postgresSkip: string | undefined = process.env.CI ? undefined : noDatabase()

/**
 * A fresh schema of the test database with its URL (`?schema=`), dropped by `drop()`: every store of every
 * suite has a database of its own on one server.
 */
export async function freshSchema(): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const missing = noDatabase()
  if (missing !== undefined) throw new Error(`no PostgreSQL for the tests: ${missing}; .ci/run installs it`)
  const base = process.env.LOCALBOT_TEST_DATABASE_URL!
  const schema = `t_${randomBytes(6).toString('hex')}`
  const url = new URL(base)
  url.searchParams.set('schema', schema)
  return {
    url: url.toString(),
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: base })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await client.end()
    },
  }
}

/** classic-level in a temp folder, memory-level, and PostgreSQL (a fresh schema each): every store and client suite runs on all three. */
export const backends: Backend[] = [
  {
    name: 'classic-level',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'localbot-test-'))
      const store = await Store.open(dir)
      return {
        store,
        async close() {
          await store.close()
          await rm(dir, { recursive: true, force: true })
        },
      }
    },
  },
  {
    name: 'memory-level',
    async open() {
      const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
      return { store, close: () => store.close() }
    },
  },
  {
    name: 'postgres',
    skip: postgresSkip,
    async open() {
      const schema = await freshSchema()
      const store = await Store.open(schema.url)
      return {
        store,
        async close() {
          await store.close()
          await schema.drop()
        },
      }
    },
  },
]
