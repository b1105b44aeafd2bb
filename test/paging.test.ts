import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { MAX_OPEN_WALKS } from '../runtime/store/store.ts'
import { backends } from './support/backends.ts'
import { testClient } from './support/client.ts'

const writes = fc.array(
  fc.record({ kind: fc.constantFrom('update', 'create', 'delete'), pick: fc.nat(), advance: fc.integer({ min: 0, max: 3 }) }),
  { maxLength: 6 },
)

for (const backend of backends) {
  describe(`paging on ${backend.name}`, { skip: backend.skip }, () => {
    it('a walk in updatedAt order sees every conversation that existed throughout exactly once, whatever is written between pages', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 30 }),
          fc.integer({ min: 1, max: 7 }),
          fc.constantFrom('asc', 'desc'),
          fc.constantFrom('createdAt', 'updatedAt'),
          fc.array(writes, { minLength: 1, maxLength: 10 }),
          async (count, limit, sortDirection, sortField, between) => {
            const { store, close } = await backend.open()
            const { client, clock } = testClient(store)
            try {
              const ids: string[] = []
              for (let i = 0; i < count; i++) {
                ids.push((await client.createConversation({ tags: { n: String(i) } })).conversation.id)
                clock.advance(1)
              }
              const touched = new Set<string>()
              const seen: string[] = []
              let nextToken: string | undefined
              let page = 0
              do {
                const result = await client.listConversations({ limit, nextToken, sortField: sortField as 'createdAt', sortDirection: sortDirection as 'asc' })
                seen.push(...result.conversations.map((c) => c.id))
                nextToken = result.meta.nextToken
                for (const write of between[page++ % between.length]!) {
                  clock.advance(write.advance)
                  const live = ids.filter((id) => !touched.has(`deleted:${id}`))
                  if (write.kind === 'create') ids.push((await client.createConversation({ tags: {} })).conversation.id)
                  else if (live.length > 0) {
                    const id = live[write.pick % live.length]!
                    if (write.kind === 'update') await client.updateConversation({ id, tags: { moved: String(write.pick) } })
                    else {
                      await client.deleteConversation({ id })
                      touched.add(`deleted:${id}`)
                    }
                  }
                }
              } while (nextToken)
              const throughout = ids.slice(0, count).filter((id) => !touched.has(`deleted:${id}`))
              for (const id of throughout) assert.equal(seen.filter((s) => s === id).length, 1, `${id} seen ${seen.filter((s) => s === id).length} times`)
              assert.equal(new Set(seen).size, seen.length, 'no repeats')
            } finally {
              await close()
            }
          },
        ),
        { numRuns: 40 },
      )
    })

    it('the values of a tag, page by page, are each given once, in order, and every value that stayed throughout is seen, whatever is written between pages', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<'conversation' | 'user'>('conversation', 'user'),
          fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 25 }),
          fc.integer({ min: 1, max: 7 }),
          fc.array(fc.record({ kind: fc.constantFrom('create', 'delete'), value: fc.string({ minLength: 1, maxLength: 3 }), pick: fc.nat() }), { maxLength: 10 }),
          async (type, values, pageSize, between) => {
            const { store, close } = await backend.open()
            const { client } = testClient(store)
            // Conversations hold two index keys a tag (by creation and by update), users one.
            const records = {
              conversation: {
                create: async (plan: string) => (await client.createConversation({ tags: { plan } })).conversation.id,
                delete: (id: string) => client.deleteConversation({ id }),
              },
              user: {
                create: async (plan: string) => (await client.createUser({ tags: { plan } })).user.id,
                delete: (id: string) => client.deleteUser({ id }),
              },
            }[type]
            try {
              const holders = new Map<string, string>()
              for (const value of values) holders.set(await records.create(value), value)
              const gone = new Set<string>()
              const seen: string[] = []
              let nextToken: string | undefined
              let step = 0
              do {
                const page = await client.listTagValues({ key: 'plan', type, pageSize, nextToken })
                assert.ok(page.tags.length <= pageSize)
                seen.push(...page.tags.map((t) => t.value))
                nextToken = page.meta.nextToken
                const write = between[step++]
                if (write?.kind === 'create') holders.set(await records.create(write.value), write.value)
                else if (write?.kind === 'delete' && holders.size > 0) {
                  const [id, value] = [...holders][write.pick % holders.size]!
                  await records.delete(id)
                  holders.delete(id)
                  if (![...holders.values()].includes(value)) gone.add(value)
                }
              } while (nextToken)
              assert.equal(new Set(seen).size, seen.length, `no value twice: ${JSON.stringify(seen)}`)
              assert.deepEqual(seen, [...seen].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), 'in order')
              for (const value of values) if (!gone.has(value)) assert.ok(seen.includes(value), `${JSON.stringify(value)} stayed and was seen`)
            } finally {
              await close()
            }
          },
        ),
        { numRuns: 40 },
      )
    })

    it('more walks than stay open: the oldest goes on over the live index', async () => {
      const { store, close } = await backend.open()
      const { client } = testClient(store)
      for (let i = 0; i < 5; i++) await client.createConversation({ tags: {} })
      const first = await client.listConversations({ limit: 2 })
      for (let i = 0; i < MAX_OPEN_WALKS + 1; i++) await client.listConversations({ limit: 1 })
      const rest = await client.listConversations({ limit: 10, nextToken: first.meta.nextToken })
      assert.equal(first.conversations.length + rest.conversations.length, 5)
      await close()
    })
  })
}
