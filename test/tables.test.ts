/**
 * Tables: the rows of a table the bot's definition declares, written and found by the bot's own handlers, by
 * its in-process client, and by Botpress's @botpress/client over localbot's HTTP API; Botpress's filter
 * language; Botpress's errors; every write one batch of the store.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import fc from 'fast-check'
import { InvalidPayloadError, ResourceNotFoundError } from '@botpress/client'
import { z } from 'zod'
import type { Client } from '../runtime/client/index.ts'
import type { Op } from '../runtime/store/store.ts'
import { testBot, type BotTest } from '../runtime/testing.ts'
import { backends } from './support/backends.ts'
import { dump, testClient } from './support/client.ts'
import { rejectsAs, servedBot, type ServedBot } from './support/served-bot.ts'

const NOTES = 'test/fixtures/data-bots/notes'

/** The texts of a user's replies, in order. */
const texts = (replies: { payload: Record<string, unknown> }[]) => replies.map((r) => String(r.payload.text))

describe("a bot's handlers keep a user's notes in the table its definition declares", () => {
  let bot: BotTest
  beforeEach(async () => {
    bot = await testBot(NOTES, { logLevel: 'warn' })
  })
  afterEach(() => bot.close())

  it('notes are noted, listed, done and forgotten, each user seeing only their own', async () => {
    const ann = { userId: 'ann', conversationId: 'c-ann' }
    const bo = { userId: 'bo', conversationId: 'c-bo' }
    assert.deepEqual(texts((await bot.send('note buy milk', ann)).replies), ['noted #1'])
    assert.deepEqual(texts((await bot.send('note call mum', ann)).replies), ['noted #2'])
    assert.deepEqual(texts((await bot.send('note water plants', bo)).replies), ['noted #3'])
    assert.deepEqual(texts((await bot.send('done 1', ann)).replies), ['done #1 buy milk'])
    assert.deepEqual(texts((await bot.send('list', ann)).replies), ['#2 call mum'])
    assert.deepEqual(texts((await bot.send('list', bo)).replies), ['#3 water plants'])
    assert.deepEqual(texts((await bot.send('forget', ann)).replies), ['forgot 2 notes and 0 files'])
    assert.deepEqual(texts((await bot.send('list', ann)).replies), ['nothing to do'])
    // Ids are never given twice, also after deletes.
    assert.deepEqual(texts((await bot.send('note again', ann)).replies), ['noted #4'])
  })

  it('a note that breaks the table schema fails the handler with Botpress’s InvalidPayload, and nothing is stored', async () => {
    await bot.send('note ', { userId: 'ann' })
    const failure = bot.logs.find((line) => String(line.error ?? '').includes('createTableRows'))
    assert.match(String(failure?.error), /rows\.0\.text/)
    assert.deepEqual((await bot.client.findTableRows({ table: 'notesTable' })).rows, [])
  })
})

describe("the in-process client's table calls", () => {
  let bot: BotTest
  let client: Client
  const table = 'notesTable'

  before(async () => {
    bot = await testBot(NOTES, { logLevel: 'warn' })
    client = bot.client
    const rows = [
      { userId: 'ann', text: 'alpha', done: false },
      { userId: 'ann', text: 'beta', done: true },
      { userId: 'bo', text: 'gamma', done: false },
      { userId: 'cy', text: 'Delta', done: true },
    ]
    await client.createTableRows({ table, rows })
  })
  after(() => bot.close())

  const ids = async (input: Omit<Parameters<Client['findTableRows']>[0], 'table'>) => (await client.findTableRows({ table, ...input })).rows.map((r) => r.id)

  it('the declared table is there with its JSON schema, its row count, and in the list of tables', async () => {
    const got = await client.getTable({ table })
    assert.equal(got.rows, 4)
    assert.equal(got.table.name, table)
    assert.deepEqual(Object.keys(got.table.schema.properties as object), ['userId', 'text', 'done'])
    assert.deepEqual((got.table.schema.properties as Record<string, { 'x-zui': { index: number } }>).done!['x-zui'], { index: 2 })
    assert.deepEqual((await client.listTables({})).tables.map((t) => t.name), [table])
  })

  it('findTableRows understands the common operators of Botpress’s filter language', async () => {
    assert.deepEqual(await ids({ filter: { userId: 'ann' } }), [1, 2])
    assert.deepEqual(await ids({ filter: { userId: { $eq: 'bo' } } }), [3])
    assert.deepEqual(await ids({ filter: { userId: { $ne: 'ann' } } }), [3, 4])
    assert.deepEqual(await ids({ filter: { id: { $gt: 2 } } }), [3, 4])
    assert.deepEqual(await ids({ filter: { id: { $gte: 2, $lt: 4 } } }), [2, 3])
    assert.deepEqual(await ids({ filter: { id: { $lte: 1 } } }), [1])
    assert.deepEqual(await ids({ filter: { userId: { $in: ['bo', 'cy'] } } }), [3, 4])
    assert.deepEqual(await ids({ filter: { userId: { $nin: ['bo', 'cy'] } } }), [1, 2])
    assert.deepEqual(await ids({ filter: { text: { $regex: '^d', $options: 'i' } } }), [4])
    assert.deepEqual(await ids({ filter: { text: { $regex: '^d' } } }), [])
    assert.deepEqual(await ids({ filter: { text: { $not: { $regex: 'a$' } } } }), [])
    assert.deepEqual(await ids({ filter: { missing: { $exists: false } } }), [1, 2, 3, 4])
    assert.deepEqual(await ids({ filter: { done: { $exists: true }, id: { $mod: [2, 0] } } }), [2, 4])
    assert.deepEqual(await ids({ filter: { $and: [{ done: true }, { userId: 'ann' }] } }), [2])
    assert.deepEqual(await ids({ filter: { $or: [{ userId: 'bo' }, { text: 'alpha' }] } }), [1, 3])
    assert.deepEqual(await ids({ filter: { $not: { done: true } } }), [1, 3])
    assert.deepEqual(await ids({ filter: { createdAt: { $lte: new Date(bot.clock.now()).toISOString() } } }), [1, 2, 3, 4])
  })

  it('findTableRows orders, pages with limit and offset, selects columns and searches text', async () => {
    assert.deepEqual(await ids({ orderBy: 'text' }), [4, 1, 2, 3])
    assert.deepEqual(await ids({ orderBy: 'userId', orderDirection: 'desc' }), [4, 3, 1, 2])
    const page = await client.findTableRows({ table, limit: 2, offset: 1 })
    assert.deepEqual([page.rows.map((r) => r.id), page.hasMore, page.offset, page.limit], [[2, 3], true, 1, 2])
    assert.equal((await client.findTableRows({ table, limit: 2, offset: 2 })).hasMore, false)
    const [row] = (await client.findTableRows({ table, filter: { id: 1 }, select: ['text'] })).rows
    assert.deepEqual(Object.keys(row!).sort(), ['computed', 'createdAt', 'id', 'stale', 'text', 'updatedAt'])
    assert.deepEqual(await ids({ search: 'ELT' }), [4])
  })

  it('getTableRow answers one row with its system fields, or ResourceNotFound', async () => {
    const { row } = await client.getTableRow({ table, id: 3 })
    assert.deepEqual(row, { userId: 'bo', text: 'gamma', done: false, id: 3, createdAt: row.createdAt, updatedAt: row.updatedAt, computed: {}, stale: [] })
    await assert.rejects(client.getTableRow({ table, id: 99 }), { type: 'ResourceNotFound' })
  })

  it('updateTableRows changes the named columns; upsertTableRows updates by key column and adds the rest', async () => {
    await bot.advance(60)
    const { rows } = await client.updateTableRows({ table, rows: [{ id: 3, done: true }] })
    assert.equal(rows[0]!.done, true)
    assert.equal(rows[0]!.text, 'gamma')
    assert.notEqual(rows[0]!.updatedAt, rows[0]!.createdAt)
    const { inserted, updated } = await client.upsertTableRows({
      table,
      keyColumn: 'text',
      rows: [
        { userId: 'bo', text: 'gamma', done: false },
        { userId: 'dee', text: 'epsilon', done: false },
      ],
    })
    assert.deepEqual(updated.map((r) => [r.id, r.done]), [[3, false]])
    assert.deepEqual(inserted.map((r) => [r.id, r.text]), [[5, 'epsilon']])
  })

  it('deleteTableRows deletes by ids, by filter, then all of them, saying how many', async () => {
    assert.deepEqual(await client.deleteTableRows({ table, ids: [1, 1, 77] }), { deletedRows: 1 })
    assert.deepEqual(await client.deleteTableRows({ table, filter: { userId: { $in: ['cy', 'dee'] } } }), { deletedRows: 2 })
    assert.deepEqual(await client.deleteTableRows({ table, deleteAllRows: true }), { deletedRows: 2 })
    assert.equal((await client.getTable({ table })).rows, 0)
  })

  it('getOrCreateTable makes a table at run time from a JSON schema, whose rows are checked against it', async () => {
    const schema = { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'number', nullable: true } }, required: ['sku'] }
    const made = await client.getOrCreateTable({ table: 'stockTable', schema, keyColumn: 'sku' })
    assert.equal(made.created, true)
    assert.equal((await client.getOrCreateTable({ table: 'stockTable', schema })).created, false)
    const { rows } = await client.createTableRows({ table: 'stockTable', rows: [{ sku: 'a1', qty: null, ignored: 1 }] })
    assert.deepEqual([rows[0]!.sku, rows[0]!.qty, 'ignored' in rows[0]!], ['a1', null, false])
    await assert.rejects(client.createTableRows({ table: 'stockTable', rows: [{ sku: 'a2', qty: 'many' }] }), /rows\.0\.qty: expected number or null/)
    await assert.rejects(client.createTableRows({ table: 'stockTable', rows: [{ qty: 1 }] }), /rows\.0\.sku: Required/)
    const { updated } = await client.upsertTableRows({ table: 'stockTable', rows: [{ sku: 'a1', qty: 3 }] })
    assert.deepEqual(updated.map((r) => r.qty), [3])
    assert.deepEqual((await client.listTables({})).tables.map((t) => t.name), [table, 'stockTable'])
  })
})

describe('tables through @botpress/client over HTTP', () => {
  let served: ServedBot
  before(async () => {
    served = await servedBot(NOTES)
  })
  after(() => served.close())

  it('rows are created, read, found with a filter, updated and deleted, with Botpress’s shapes', async () => {
    const { bp } = served
    const table = 'notesTable'
    const created = await bp.createTableRows({ table, rows: [{ userId: 'ann', text: 'one', done: false }, { userId: 'bo', text: 'two', done: false }] })
    assert.deepEqual(created.rows.map((r) => r.id), [1, 2])
    assert.equal((await bp.getTableRow({ table, id: 2 })).row.text, 'two')
    const found = await bp.findTableRows({ table, filter: { userId: { $in: ['bo'] } } })
    assert.deepEqual([found.rows.map((r) => r.text), found.hasMore, found.offset, found.limit], [['two'], false, 0, 100])
    const updated = await bp.updateTableRows({ table, rows: [{ id: 1, done: true }] })
    assert.equal(updated.rows[0]!.done, true)
    const upserted = await bp.upsertTableRows({ table, keyColumn: 'text', rows: [{ userId: 'cy', text: 'two', done: true }] })
    assert.deepEqual(upserted.updated.map((r) => [r.id, r.userId]), [[2, 'cy']])
    assert.deepEqual(await bp.deleteTableRows({ table, filter: { done: true } }), { deletedRows: 2 })
    assert.equal((await bp.getTable({ table })).rows, 0)
    assert.deepEqual((await bp.listTables({})).tables.map((t) => t.name), [table])
  })

  it('a row that breaks the schema is InvalidPayload; an unknown table or row is ResourceNotFound', async () => {
    const { bp } = served
    await rejectsAs(bp.createTableRows({ table: 'notesTable', rows: [{ userId: 'ann', text: 'ok', done: 'no' }] }), InvalidPayloadError, 'rows.0.done')
    await rejectsAs(bp.findTableRows({ table: 'notesTable', filter: { text: { $like: 'a' } } }), InvalidPayloadError, '$like')
    await rejectsAs(bp.findTableRows({ table: 'otherTable' }), ResourceNotFoundError, 'otherTable')
    await rejectsAs(bp.getTableRow({ table: 'notesTable', id: 404 }), ResourceNotFoundError, '404')
  })

  it('a row whose JSON holds a __proto__ key pollutes no prototype and reaches no other table', async () => {
    const res = await fetch(`${served.url}/v1/tables/notesTable/rows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-bot-id': served.bot.botId },
      body: '{"rows":[{"userId":"ann","text":"x","done":false,"__proto__":{"polluted":true}}]}',
    })
    assert.equal(res.status, 200)
    const { rows } = (await res.json()) as { rows: Record<string, unknown>[] }
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.equal(Object.getPrototypeOf(rows[0]), Object.prototype)
    assert.equal(Object.hasOwn(rows[0]!, '__proto__'), false)
  })
})

for (const backend of backends) {
  describe(`every table write is one batch of the store (${backend.name})`, { skip: backend.skip }, () => {
    /*
     * Crash safety: a call's rows and the table's last id are staged as one store batch, which reaches LevelDB as
     * one write batch (store.ts groups batches, never splits one), and LevelDB applies a write batch whole or not at
     * all, also when the process dies in the middle. So after a crash a call is there with all its rows or not at all,
     * and the last id is never behind a row: ids are not given twice. A call that fails stages nothing.
     */
    let close: () => Promise<void>
    let client: Client
    let batches: Op[][]
    let store: Awaited<ReturnType<(typeof backends)[number]['open']>>['store']

    beforeEach(async () => {
      ;({ store, close } = await backend.open())
      client = testClient(store, { tables: { itemsTable: { schema: z.object({ name: z.string(), n: z.number().optional() }) } } }).client
      batches = []
      store.observe((ops) => batches.push(ops))
    })
    afterEach(() => close())

    it('three rows and the last id are staged together, in one batch', async () => {
      await client.createTableRows({ table: 'itemsTable', rows: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] })
      assert.equal(batches.length, 1)
      assert.equal(batches[0]!.length, 4)
      await client.upsertTableRows({ table: 'itemsTable', keyColumn: 'name', rows: [{ name: 'a', n: 1 }, { name: 'd' }] })
      assert.equal(batches.length, 2)
      assert.deepEqual(await store.getJson<number>(batches[1]!.at(-1)!.key), 4)
    })

    it('a call with one bad row among good ones stages nothing, and gives out no id', async () => {
      await client.createTableRows({ table: 'itemsTable', rows: [{ name: 'first' }] })
      const before = await dump(store)
      batches = []
      await assert.rejects(client.createTableRows({ table: 'itemsTable', rows: [{ name: 'ok' }, { name: 'ok too' }, { name: 3 }] }), { type: 'InvalidPayload' })
      await assert.rejects(client.updateTableRows({ table: 'itemsTable', rows: [{ id: 1, n: 2 }, { id: 1, n: 'x' }] }), { type: 'InvalidPayload' })
      assert.deepEqual(batches, [])
      assert.deepEqual(await dump(store), before)
      assert.deepEqual((await client.createTableRows({ table: 'itemsTable', rows: [{ name: 'next' }] })).rows[0]!.id, 2)
    })
  })
}

describe('the filter language', () => {
  it('$not matches exactly the rows its filter does not, and $or is the union of its parts', async () => {
    const { Store } = await import('../runtime/store/store.ts')
    const { MemoryLevel } = await import('memory-level')
    const store = await Store.over(new MemoryLevel<string, string>() as never)
    const { client } = testClient(store, { tables: { numbersTable: { schema: z.object({ n: z.number() }) } } })
    const values = Array.from({ length: 20 }, (_, i) => ((i * 7) % 11) - 5)
    await client.createTableRows({ table: 'numbersTable', rows: values.map((n) => ({ n })) })
    const find = async (filter: Record<string, unknown>) => (await client.findTableRows({ table: 'numbersTable', filter })).rows.map((r) => r.id as number)
    const op = fc.constantFrom('$gt', '$gte', '$lt', '$lte', '$eq', '$ne')
    await fc.assert(
      fc.asyncProperty(op, fc.integer({ min: -6, max: 6 }), op, fc.integer({ min: -6, max: 6 }), async (op1, v1, op2, v2) => {
        const a = { n: { [op1]: v1 } }
        const b = { n: { [op2]: v2 } }
        const [inA, inB, notA, either] = await Promise.all([find(a), find(b), find({ $not: a }), find({ $or: [a, b] })])
        const all = values.map((_, i) => i + 1)
        assert.deepEqual(notA, all.filter((id) => !inA.includes(id)))
        assert.deepEqual(either, all.filter((id) => inA.includes(id) || inB.includes(id)))
      }),
      { numRuns: 60 },
    )
    await store.close()
  })
})
