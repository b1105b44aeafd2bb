import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { backends } from './support/backends.ts'
import { dump, testClient } from './support/client.ts'

for (const backend of backends) {
  describe(`concurrent writes on ${backend.name}`, { skip: backend.skip }, () => {
    it('a conversation deleted while messages, states, workflows and participants are being written leaves no key or value naming it', async () => {
      for (let round = 0; round < 10; round++) {
        const { store, close } = await backend.open()
        const { client } = testClient(store)
        const { conversation } = await client.createConversation({ id: `doomed-${round}`, tags: { t: 'x' } })
        const { user } = await client.createUser({ id: `someone-${round}`, tags: {} })
        const writes: Promise<unknown>[] = []
        for (let i = 0; i < 20; i++) {
          writes.push(client.createMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: { i }, tags: { n: String(i) } }))
          writes.push(client.setState({ type: 'conversation', id: conversation.id, name: `s${i % 3}`, payload: { i }, expiry: 60 }))
          writes.push(client.updateConversation({ id: conversation.id, tags: { n: String(i) } }))
          writes.push(client.createEvent({ type: 'e', conversationId: conversation.id, payload: {}, ...(i % 2 ? { schedule: { delay: 1000 } } : {}) }))
          writes.push(client.createWorkflow({ name: 'w', status: 'pending', conversationId: conversation.id, tags: { n: String(i) } }))
          if (i === round) writes.push(client.addParticipant({ id: conversation.id, userId: user.id }))
          if (i === 10) writes.push(client.deleteConversation({ id: conversation.id }))
        }
        const results = await Promise.allSettled(writes)
        for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { type?: string }).type, 'ResourceNotFound', String(r.reason))
        const leftovers = (await dump(store)).filter(([k, v]) => k.includes(conversation.id) || v.includes(conversation.id))
        assert.deepEqual(leftovers, [])
        await close()
      }
    })

    it('a user deleted while it writes leaves no key or value naming it', async () => {
      for (let round = 0; round < 10; round++) {
        const { store, close } = await backend.open()
        const { client } = testClient(store)
        const { user } = await client.createUser({ id: `leaving-${round}`, tags: {} })
        const conversations = await Promise.all([0, 1, 2].map((c) => client.createConversation({ id: `room-${round}-${c}`, tags: {} })))
        const writes: Promise<unknown>[] = []
        for (let i = 0; i < 20; i++) {
          const conversationId = conversations[i % 3]!.conversation.id
          writes.push(client.addParticipant({ id: conversationId, userId: user.id }))
          writes.push(client.createMessage({ conversationId, userId: user.id, type: 'text', payload: { i }, tags: {} }))
          writes.push(client.setState({ type: 'user', id: user.id, name: `s${i % 3}`, payload: { i } }))
          writes.push(client.updateUser({ id: user.id, tags: { n: String(i) } }))
          writes.push(client.createWorkflow({ name: 'w', status: 'listening', userId: user.id }))
          if (i === 7 + round) writes.push(client.deleteUser({ id: user.id }))
        }
        const results = await Promise.allSettled(writes)
        for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { type?: string }).type, 'ResourceNotFound', String(r.reason))
        const leftovers = (await dump(store)).filter(([k, v]) => k.includes(user.id) || v.includes(user.id))
        assert.deepEqual(leftovers, [])
        await close()
      }
    })

    it('twenty concurrent get-or-creates of a message and of a workflow with the same tags make one of each', async () => {
      const { store, close } = await backend.open()
      const { client } = testClient(store)
      const { conversation } = await client.createConversation({ tags: {} })
      const messages = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.getOrCreateMessage({ conversationId: conversation.id, userId: 'bot1', type: 'text', payload: { i }, tags: { key: 'k', i: String(i) }, discriminateByTags: ['key'] }),
        ),
      )
      assert.equal(new Set(messages.map((m) => m.message.id)).size, 1)
      assert.equal(messages.filter((m) => m.meta.created).length, 1)
      const workflows = await Promise.all(
        Array.from({ length: 20 }, () => client.getOrCreateWorkflow({ name: 'w', status: 'pending', conversationId: conversation.id, tags: { key: 'k' } })),
      )
      assert.equal(new Set(workflows.map((w) => w.workflow.id)).size, 1)
      assert.equal(workflows.filter((w) => w.meta.created).length, 1)
      await close()
    })

    it('writes of different conversations overlap and each conversation ends consistent', async () => {
      const { store, close } = await backend.open()
      const { client } = testClient(store)
      const ids = Array.from({ length: 10 }, (_, i) => `room-${i}`)
      for (const id of ids) await client.createConversation({ id, tags: {} })
      await Promise.all(
        ids.flatMap((id) =>
          Array.from({ length: 10 }, (_, i) =>
            client.getOrSetState({ type: 'conversation', id, name: 'first', payload: { i } }).then(() => client.patchState({ type: 'conversation', id, name: 'first', payload: { [`k${i}`]: i } })),
          ),
        ),
      )
      for (const id of ids) {
        const { state } = await client.getState({ type: 'conversation', id, name: 'first' })
        for (let i = 0; i < 10; i++) assert.equal(state.payload[`k${i}`], i, 'no patch lost')
      }
      await close()
    })
  })
}
