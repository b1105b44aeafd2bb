/**
 * Files: uploaded by a bot's handlers and by its in-process client (content given directly), by Botpress's
 * @botpress/client over localbot's HTTP API (upsertFile, then a PUT of the content to the file's uploadUrl),
 * read back at the file's url; Botpress's errors; every write of a file one batch of the store; no URL that
 * reaches what it does not name.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { InvalidPayloadError, ResourceNotFoundError } from '@botpress/client'
import { createClientContext, fileContent, type Client } from '../runtime/client/index.ts'
import { MAX_FILE_BYTES } from '../runtime/client/files.ts'
import type { Op, Store } from '../runtime/store/store.ts'
import { testBot, type BotTest } from '../runtime/testing.ts'
import { backends } from './support/backends.ts'
import { dump, testClient } from './support/client.ts'
import { rejectsAs, servedBot, type ServedBot } from './support/served-bot.ts'

const NOTES = 'test/fixtures/data-bots/notes'

/** A file's content as the bot's runtime holds it, read in-process. */
async function contentOf(store: Store, botId: string, id: string): Promise<string> {
  const { clock } = testClient(store)
  return (await fileContent(createClientContext({ store, botId, clock }), id, null)).content.toString('utf8')
}

/** A request sent exactly as written (fetch would resolve `..`), answering its status. */
function rawStatus(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<number> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe("a bot's handlers export a user's notes as a file", () => {
  let bot: BotTest
  beforeEach(async () => {
    bot = await testBot(NOTES, { logLevel: 'warn' })
  })
  afterEach(() => bot.close())

  it('the export is a file tagged with the user, listed, read back, and forgotten with the notes', async () => {
    await bot.send('note buy milk')
    await bot.send('note call mum')
    const [reply] = (await bot.send('export')).replies
    // No HTTP face in the harness: the URL names the file but nothing serves it.
    assert.match(String(reply!.payload.text), /^exported 21 bytes to localbot:\/files\/notes\/file_\w+\?t=[0-9a-f]{32}$/)
    assert.deepEqual((await bot.send('exports')).replies.map((r) => r.payload.text), ['exports/user-1.md'])
    const { files } = await bot.client.listFiles({ tags: { userId: 'user-1' } })
    assert.equal(files[0]!.contentType, 'text/markdown')
    assert.equal(await contentOf(bot.runtime.store, bot.botId, files[0]!.id), '- buy milk\n- call mum')
    assert.deepEqual((await bot.send('forget')).replies.map((r) => r.payload.text), ['forgot 2 notes and 1 files'])
    assert.deepEqual((await bot.client.listFiles({})).files, [])
  })
})

for (const backend of backends) {
  describe(`the in-process client's file calls (${backend.name})`, { skip: backend.skip }, () => {
    let store: Store
    let close: () => Promise<void>
    let client: Client
    let clock: ReturnType<typeof testClient>['clock']

    beforeEach(async () => {
      ;({ store, close } = await backend.open())
      ;({ client, clock } = testClient(store))
    })
    afterEach(() => close())

    it('uploadFile takes text, a Buffer, a Uint8Array, an ArrayBuffer or a Blob, and stores it whole', async () => {
      const contents = ['héllo', Buffer.from('héllo'), new TextEncoder().encode('héllo'), new TextEncoder().encode('héllo').buffer, new Blob(['héllo'])]
      for (const [i, content] of contents.entries()) {
        const { file } = await client.uploadFile({ key: `greeting-${i}.txt`, content })
        assert.deepEqual([file.size, file.status, file.contentType], [6, 'upload_completed', 'text/plain'])
        assert.equal(await contentOf(store, 'bot1', file.id), 'héllo')
      }
    })

    it('a file over several chunks reads back byte for byte; a smaller upload under its key leaves no chunk behind', async () => {
      const big = Buffer.alloc(500_000, 0).map((_, i) => (i * 31) % 256)
      const { file } = await client.uploadFile({ key: 'data.bin', content: big })
      const { content } = await fileContent(createClientContext({ store, botId: 'bot1', clock }), file.id, null)
      assert.ok(content.equals(big))
      const chunkKeys = async () => (await dump(store)).filter(([key]) => key.includes('\u0000FC\u0000')).length
      assert.equal(await chunkKeys(), 3)
      const again = await client.uploadFile({ key: 'data.bin', content: 'small' })
      assert.deepEqual([again.file.id, again.file.url], [file.id, file.url])
      assert.equal(await contentOf(store, 'bot1', file.id), 'small')
      assert.equal(await chunkKeys(), 1)
    })

    it('upsertFile makes a file that waits for its content; reading it before is ResourceNotFound', async () => {
      const { file } = await client.upsertFile({ key: 'later.pdf', size: 10, tags: { kind: 'report' }, metadata: { pages: 2 } })
      assert.deepEqual([file.status, file.size, file.contentType], ['upload_pending', null, 'application/pdf'])
      assert.match(file.uploadUrl, /^localbot:\/files\/bot1\/file_\w+\?upload=[0-9a-f]{32}$/)
      await assert.rejects(contentOf(store, 'bot1', file.id), { type: 'ResourceNotFound', message: /no content yet/ })
      assert.deepEqual((await client.getFile({ id: file.id })).file.metadata, { pages: 2 })
    })

    it('listFiles lists newest first, pages with nextToken, sorts by key, filters by tags, ids and indexed', async () => {
      const made: string[] = []
      for (const key of ['c.txt', 'a.txt', 'b.txt']) {
        clock.advance(1000)
        made.push((await client.uploadFile({ key, content: key, tags: { group: key === 'b.txt' ? 'two' : 'one' }, index: key === 'a.txt' })).file.id)
      }
      const pages: string[][] = []
      let nextToken: string | undefined
      do {
        const page = await client.listFiles({ pageSize: 2, nextToken })
        pages.push(page.files.map((f) => f.key))
        nextToken = page.meta.nextToken
      } while (nextToken)
      assert.deepEqual(pages, [['b.txt', 'a.txt'], ['c.txt']])
      assert.deepEqual((await client.listFiles({ sortField: 'key' })).files.map((f) => f.key), ['a.txt', 'b.txt', 'c.txt'])
      assert.deepEqual((await client.listFiles({ sortField: 'key', sortDirection: 'desc', tags: { group: 'one' } })).files.map((f) => f.key), ['c.txt', 'a.txt'])
      assert.deepEqual((await client.listFiles({ tags: { group: 'one' } })).files.map((f) => f.key), ['a.txt', 'c.txt'])
      assert.deepEqual((await client.listFiles({ ids: [made[0]!, made[2]!, 'file_nope'] })).files.map((f) => f.key), ['b.txt', 'c.txt'])
      const indexed = await client.listFiles({ indexed: true })
      assert.deepEqual(indexed.files.map((f) => [f.key, f.status]), [['a.txt', 'indexing_completed']])
    })

    it('updateFileMetadata merges metadata and tags (null removes), and an expiry hides the file once it passes', async () => {
      const { file } = await client.uploadFile({ key: 'k.txt', content: 'x', tags: { a: '1', b: '2' }, metadata: { keep: true, drop: 1 } })
      const expiresAt = new Date(clock.now() + 3_600_000).toISOString()
      const updated = await client.updateFileMetadata({ id: file.id, tags: { a: null, c: '3' }, metadata: { drop: null, added: 'yes' }, accessPolicies: ['public_content'], expiresAt })
      assert.deepEqual(updated.file.tags, { b: '2', c: '3' })
      assert.deepEqual(updated.file.metadata, { keep: true, added: 'yes' })
      assert.deepEqual([updated.file.accessPolicies, updated.file.expiresAt], [['public_content'], expiresAt])
      assert.deepEqual((await client.listFiles({ tags: { c: '3' } })).files.map((f) => f.id), [file.id])
      clock.advance(3_600_000)
      await assert.rejects(client.getFile({ id: file.id }), { type: 'ResourceNotFound' })
      assert.deepEqual((await client.listFiles({})).files, [])
      // Its key is free again: a new file takes it.
      assert.notEqual((await client.uploadFile({ key: 'k.txt', content: 'y' })).file.id, file.id)
    })

    it('deleteFile removes the record, its index entries and its content: no key of the store names the file', async () => {
      const { file } = await client.uploadFile({ key: 'gone.txt', content: 'bye', tags: { t: 'v' } })
      assert.deepEqual(await client.deleteFile({ id: file.id }), {})
      await assert.rejects(client.getFile({ id: file.id }), { type: 'ResourceNotFound' })
      assert.deepEqual((await dump(store)).filter(([key, value]) => key.includes(file.id) || value.includes(file.id)), [])
    })

    it("one bot reaches no other bot's file, by id or by URL", async () => {
      const { file } = await client.uploadFile({ key: 'secret.txt', content: 'mine' })
      const other = testClient(store, { botId: 'bot2' }).client
      await assert.rejects(other.getFile({ id: file.id }), { type: 'ResourceNotFound' })
      await assert.rejects(other.deleteFile({ id: file.id }), { type: 'ResourceNotFound' })
      const token = new URL(file.url.replace('localbot:', 'http://x')).searchParams.get('t')!
      await assert.rejects(fileContent(createClientContext({ store, botId: 'bot2', clock }), file.id, token), { type: 'ResourceNotFound' })
      assert.equal((await other.uploadFile({ key: 'secret.txt', content: 'theirs' })).file.key, 'secret.txt')
      assert.equal(await contentOf(store, 'bot1', file.id), 'mine')
    })

    /*
     * Crash safety: a file's record, its index entries and every chunk of its content are staged as one store
     * batch, which reaches LevelDB as one write batch (store.ts groups batches and never splits one); LevelDB
     * applies a write batch whole or not at all, also when the process dies during it. So whatever instant a crash
     * comes, the file is as before the call or as after it: never a record without its content, content without
     * its record, or half of the new content over half of the old. A call that fails stages nothing.
     */
    it('an upload, a re-upload and a delete are each one batch; a refused upload is none', async () => {
      const batches: Op[][] = []
      store.observe((ops) => batches.push(ops))
      const { file } = await client.uploadFile({ key: 'x.bin', content: Buffer.alloc(400_000, 1), tags: { a: 'b' } })
      await client.uploadFile({ key: 'x.bin', content: 'short' })
      await client.deleteFile({ id: file.id })
      assert.deepEqual(
        batches.map((ops) => ops.map((op) => op.type).join(' ')),
        [
          // the record, its five sort entries and one tag entry, three chunks
          'put put put put put put put put put put',
          // the record; the size's old sort entry and the tag go, its new one comes; one chunk; the two chunks past it go
          'put del del put put del del',
          'del del del del del del del',
        ],
      )
      const before = await dump(store)
      await assert.rejects(client.uploadFile({ key: 'huge.bin', content: Buffer.alloc(MAX_FILE_BYTES + 1) }), { type: 'PayloadTooLarge' })
      assert.equal(batches.length, 3)
      assert.deepEqual(await dump(store), before)
    })
  })
}

describe('files through @botpress/client over HTTP', () => {
  let served: ServedBot
  before(async () => {
    served = await servedBot(NOTES)
  })
  after(() => served.close())

  it('a file is uploaded (upsert, then a PUT to its uploadUrl), fetched at its url, listed, updated and deleted', async () => {
    const { bp } = served
    const { file } = await bp.uploadFile({ key: 'docs/hello.txt', content: 'hello over http', tags: { lang: 'en' } })
    assert.equal(file.size, 15)
    assert.ok(file.url.startsWith(`${served.url}/files/notes/`))
    const got = (await bp.getFile({ id: file.id })).file
    assert.deepEqual([got.status, got.size, got.contentType, got.key], ['upload_completed', 15, 'text/plain', 'docs/hello.txt'])
    const res = await fetch(got.url)
    assert.deepEqual([res.status, res.headers.get('content-type'), await res.text()], [200, 'text/plain', 'hello over http'])
    assert.deepEqual((await bp.listFiles({ tags: { lang: 'en' } })).files.map((f) => f.id), [file.id])
    assert.deepEqual((await bp.updateFileMetadata({ id: file.id, metadata: { read: true } })).file.metadata, { read: true })
    // The bot sees what the client uploaded.
    assert.equal(await contentOf(served.bot.runtime.store, 'notes', file.id), 'hello over http')
    assert.deepEqual(await bp.deleteFile({ id: file.id }), {})
    await rejectsAs(bp.getFile({ id: file.id }), ResourceNotFoundError, file.id)
    assert.equal((await fetch(got.url)).status, 404)
  })

  it('a URL the bot hands out in a reply serves the export', async () => {
    await served.bot.send('note from the bot', { userId: 'web' })
    const [reply] = (await served.bot.send('export', { userId: 'web' })).replies
    const url = String(reply!.payload.text).split(' to ')[1]!
    assert.equal(await (await fetch(url)).text(), '- from the bot')
  })

  it('wrong input is InvalidPayload, an unknown file ResourceNotFound, as Botpress’s classes', async () => {
    const { bp } = served
    await rejectsAs(bp.upsertFile({ key: 'x.txt' } as Parameters<typeof bp.upsertFile>[0]), InvalidPayloadError, 'size')
    await rejectsAs(bp.listFiles({ sortField: 'name' as 'key' }), InvalidPayloadError, 'sortField')
    await rejectsAs(bp.getFile({ id: 'file_nope' }), ResourceNotFoundError, 'file_nope')
  })

  it('a file URL works only with its own token, names only its own file, and serves content that cannot run', async () => {
    const { file } = await served.bp.upsertFile({ key: 'page.html', size: 20 })
    const upload = new URL(file.uploadUrl)
    const path = (p: string, query = upload.search) => `${p}${query}`
    const base = upload.pathname
    assert.equal(await rawStatus(served.url, 'PUT', path(base, '?upload=00000000000000000000000000000000'), {}, Buffer.from('x')), 404)
    assert.equal(await rawStatus(served.url, 'PUT', path(base, '?t=' + new URL(file.url).searchParams.get('t')), {}, Buffer.from('x')), 404)
    assert.equal(await rawStatus(served.url, 'PUT', path(base), { 'content-length': String(MAX_FILE_BYTES + 1) }), 413)
    assert.equal(await rawStatus(served.url, 'PUT', path(base), {}, Buffer.from('<script>1</script>')), 200)
    for (const traversal of ['/files/notes/..', '/files/../notes/' + file.id, `/files/notes/..%2F${file.id}`, `/files/other/${file.id}`, `/files/notes/${file.id}/x`])
      assert.equal(await rawStatus(served.url, 'GET', traversal + new URL(file.url).search), 404, traversal)
    assert.equal(await rawStatus(served.url, 'GET', `${new URL(file.url).pathname}?t=00000000000000000000000000000000`), 404)
    assert.equal(await rawStatus(served.url, 'GET', new URL(file.url).pathname), 404)
    assert.equal(await rawStatus(served.url, 'DELETE', new URL(file.url).pathname), 405)
    const res = await fetch(file.url)
    assert.equal(await res.text(), '<script>1</script>')
    assert.deepEqual([res.headers.get('content-security-policy'), res.headers.get('x-content-type-options')], ['sandbox', 'nosniff'])
  })
})

describe('files over HTTP with --token', () => {
  let served: ServedBot
  before(async () => {
    served = await servedBot(NOTES, { token: 's3cret' })
  })
  after(() => served.close())

  it('the API wants the token; the file URLs carry their own credential, as pre-signed URLs do', async () => {
    // @botpress/client's uploadFile PUTs to the uploadUrl without the Authorization header.
    const { file } = await served.bp.uploadFile({ key: 'a.txt', content: 'guarded' })
    assert.equal(await (await fetch(file.url)).text(), 'guarded')
    assert.equal((await fetch(`${served.url}/v1/files/${file.id}`, { headers: { 'x-bot-id': 'notes' } })).status, 401)
  })
})
