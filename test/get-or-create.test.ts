import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Client } from '../runtime/client/index.ts'
import { backends } from './support/backends.ts'
import { testClient } from './support/client.ts'

/** More records than a list page reads past its filters (2,000). */
const MANY = 2_100

/** The create and get-or-create calls of one resource, by tags. */
type Resource = {
  name: string
  create(client: Client, tags: Record<string, string>): Promise<string>
  getOrCreate(client: Client, tags: Record<string, string>, discriminateByTags?: string[]): Promise<{ id: string; created: boolean }>
  /** One page of the list filtered by `tags`: how many records it holds, and the token of the next. */
  page(client: Client, tags: Record<string, string>, nextToken: string | undefined): Promise<{ size: number; nextToken?: string }>
}

/** How many records carry `tags`, counted over every page of the list. */
async function count(client: Client, resource: Resource, tags: Record<string, string>): Promise<number> {
  let total = 0
  let nextToken: string | undefined
  do {
    const page = await resource.page(client, tags, nextToken)
    total += page.size
    nextToken = page.nextToken
  } while (nextToken !== undefined)
  return total
}

const resources: Resource[] = [
  {
    name: 'conversation',
    create: async (client, tags) => (await client.createConversation({ channel: 'web', tags })).conversation.id,
    async getOrCreate(client, tags, discriminateByTags) {
      const { conversation, meta } = await client.getOrCreateConversation({ channel: 'web', tags, discriminateByTags })
      return { id: conversation.id, created: meta.created }
    },
    async page(client, tags, nextToken) {
      const { conversations, meta } = await client.listConversations({ tags, nextToken, limit: 100 })
      return { size: conversations.length, nextToken: meta.nextToken }
    },
  },
  {
    name: 'user',
    create: async (client, tags) => (await client.createUser({ tags })).user.id,
    async getOrCreate(client, tags, discriminateByTags) {
      const { user, meta } = await client.getOrCreateUser({ tags, discriminateByTags })
      return { id: user.id, created: meta.created }
    },
    async page(client, tags, nextToken) {
      const { users, meta } = await client.listUsers({ tags, nextToken, limit: 100 })
      return { size: users.length, nextToken: meta.nextToken }
    },
  },
]

for (const backend of backends) {
  describe(`get-or-create by tags past a page's scan budget (${backend.name})`, { skip: backend.skip }, () => {
    for (const resource of resources) {
      it(`a ${resource.name} among ${MANY} sharing a tag is found, oldest first, and never created twice`, async () => {
        const { store, close } = await backend.open()
        const { client, clock } = testClient(store)
        const ids: string[] = []
        for (let i = 0; i < MANY; i++) {
          ids.push(await resource.create(client, { a: '1', b: String(i) }))
          clock.advance(1)
        }
        const last = String(MANY - 1)

        assert.deepEqual(await resource.getOrCreate(client, { a: '1', b: last }), { id: ids.at(-1), created: false })
        assert.deepEqual(await resource.getOrCreate(client, { a: '1', b: last, c: 'other' }, ['a', 'b']), { id: ids.at(-1), created: false })
        assert.deepEqual(await resource.getOrCreate(client, { a: '1' }), { id: ids[0], created: false }, 'the oldest of many')

        // Both tags common, the one record carrying both is the newest: the whole index of one is read.
        for (let i = 0; i < MANY; i++) await resource.create(client, { c: '1', b: `c${i}` })
        clock.advance(1)
        const both = await resource.create(client, { a: '1', c: '1' })
        assert.deepEqual(await resource.getOrCreate(client, { a: '1', c: '1' }), { id: both, created: false })

        const created = await resource.getOrCreate(client, { a: '1', c: '1', b: 'new' })
        assert.equal(created.created, true, 'no record carries all three')
        assert.deepEqual(await resource.getOrCreate(client, { a: '1', c: '1', b: 'new' }), { id: created.id, created: false })
        assert.equal(await count(client, resource, { a: '1', c: '1' }), 2)
        await close()
      })
    }
  })
}
