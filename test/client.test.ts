import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { z } from 'zod'
import { createClient, type Client, type StateDefinition, type StateType } from '../runtime/client/index.ts'
import { inRange } from '../runtime/store/keys.ts'
import * as layout from '../runtime/store/layout.ts'
import type { Store } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'
import { backends } from './support/backends.ts'
import { dump, testClient } from './support/client.ts'

const SECOND = 1000
const HOUR = 3600 * SECOND

/** The states a bot of these tests declares, as a definition's `states` would. */
const declaredStates: Record<string, StateDefinition> = {
  sessionData: {
    type: 'conversation',
    schema: z.object({ startTime: z.string(), data: z.record(z.string(), z.any()) }),
    expiry: 3600,
  },
  profile: { type: 'user', schema: z.object({ name: z.string(), age: z.number().optional() }) },
}

/** Asserts that `promise` rejects with a client error of `type` and `code` whose message mentions every `words`. */
async function rejectsWith(promise: Promise<unknown>, type: string, code: number, ...words: string[]) {
  await assert.rejects(promise, (error: unknown) => {
    const e = error as { type?: unknown; code?: unknown; message?: unknown }
    assert.equal(e.type, type, `error type (message: ${String(e.message)})`)
    assert.equal(e.code, code)
    assert.equal(typeof e.message, 'string')
    for (const word of words) assert.ok((e.message as string).includes(word), `${JSON.stringify(e.message)} should name ${word}`)
    return true
  })
}

type PageOf<T> = { items: T[]; meta: { nextToken?: string } }

/** Walks every page of a list, checking that only the last page lacks a nextToken. */
async function walk<T>(read: (nextToken: string | undefined) => Promise<PageOf<T>>, onPage?: (page: number) => Promise<void>) {
  const items: T[] = []
  const sizes: number[] = []
  let nextToken: string | undefined
  do {
    const page = await read(nextToken)
    items.push(...page.items)
    sizes.push(page.items.length)
    if (page.meta.nextToken !== undefined) {
      assert.equal(typeof page.meta.nextToken, 'string')
    } else {
      assert.ok(!Object.hasOwn(page.meta, 'nextToken'), 'meta.nextToken is absent, not undefined, on the last page')
    }
    nextToken = page.meta.nextToken
    if (nextToken !== undefined && onPage) await onPage(sizes.length)
    assert.ok(sizes.length < 1000, 'paging ends')
  } while (nextToken !== undefined)
  return { items, sizes }
}

const ids = (records: { id: string }[]) => records.map((r) => r.id)
const sorted = (values: string[]) => [...values].sort()
const isoPattern = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

/** Every key and value of the store that contains `text`. */
async function entriesMentioning(store: Store, text: string) {
  return (await dump(store)).filter(([k, v]) => k.includes(text) || v.includes(text))
}

/** The store entries of one bot. */
async function botEntries(store: Store, botId: string) {
  const range = layout.botData(botId)
  return (await dump(store)).filter(([k]) => inRange(k, range))
}

for (const backend of backends) {
  describe(backend.name, { skip: backend.skip }, () => {
    let store: Store
    let close: () => Promise<void>
    let client: Client
    let clock: VirtualClock

    beforeEach(async () => {
      ;({ store, close } = await backend.open())
      ;({ client, clock } = testClient(store, { botId: 'bot1', states: declaredStates }))
    })
    afterEach(() => close())

    async function userAndConversation(tags: Record<string, string> = {}) {
      const { user } = await client.createUser({ name: 'Ann', tags: { plan: 'pro' } })
      const { conversation } = await client.createConversation({ channel: 'web', tags })
      await client.addParticipant({ id: conversation.id, userId: user.id })
      return { user, conversation }
    }

    describe('conversations', () => {
      it('a new conversation comes back with an id, ISO times and its tags, and can be fetched again', async () => {
        const { conversation } = await client.createConversation({ channel: 'web', tags: { topic: 'billing' } })
        assert.match(conversation.id, /^conv_/)
        assert.match(conversation.createdAt, isoPattern)
        assert.equal(conversation.createdAt, new Date(clock.now()).toISOString())
        assert.equal(conversation.updatedAt, conversation.createdAt)
        assert.deepEqual(conversation.tags, { topic: 'billing' })
        const { conversation: again } = await client.getConversation({ id: conversation.id })
        assert.deepEqual(again, conversation)
      })

      it('getOrCreateConversation creates once, then finds the same conversation by its tags', async () => {
        const first = await client.getOrCreateConversation({ channel: 'web', tags: { thread: 't1', extra: 'x' }, discriminateByTags: ['thread'] })
        assert.equal(first.meta.created, true)
        const second = await client.getOrCreateConversation({ channel: 'web', tags: { thread: 't1' } })
        assert.equal(second.meta.created, false)
        assert.equal(second.conversation.id, first.conversation.id)
        const other = await client.getOrCreateConversation({ channel: 'web', tags: { thread: 't2' } })
        assert.equal(other.meta.created, true)
        assert.notEqual(other.conversation.id, first.conversation.id)
        const byId = await client.getOrCreateConversation({ id: first.conversation.id })
        assert.equal(byId.meta.created, false)
        assert.deepEqual(byId.conversation, first.conversation)
      })

      it('twenty concurrent getOrCreateConversation calls with the same tags make one conversation', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, () => client.getOrCreateConversation({ tags: { thread: 'same' } })))
        assert.equal(new Set(results.map((r) => r.conversation.id)).size, 1)
        assert.equal(results.filter((r) => r.meta.created).length, 1)
        assert.equal((await client.listConversations({})).conversations.length, 1)
        const users = await Promise.all(Array.from({ length: 20 }, () => client.getOrCreateUser({ tags: { email: 'same@x.io' } })))
        assert.equal(new Set(users.map((r) => r.user.id)).size, 1)
        assert.equal((await client.listUsers({})).users.length, 1)
      })

      it('updating a conversation merges tags, removes those set to null or empty, and moves updatedAt only', async () => {
        const { conversation } = await client.createConversation({ tags: { a: '1', b: '2', c: '3' } })
        clock.advance(5 * SECOND)
        const { conversation: updated } = await client.updateConversation({
          id: conversation.id,
          tags: { a: 'one', b: null, c: '', d: '4' } as Record<string, string | null>,
        })
        assert.deepEqual(updated.tags, { a: 'one', d: '4' })
        assert.equal(updated.createdAt, conversation.createdAt)
        assert.equal(updated.updatedAt, new Date(clock.now()).toISOString())
        assert.deepEqual((await client.getConversation({ id: conversation.id })).conversation, updated)
        // The removed tags no longer find it; the new ones do.
        assert.deepEqual(ids((await client.listConversations({ tags: { b: '2' } })).conversations), [])
        assert.deepEqual(ids((await client.listConversations({ tags: { a: 'one' } })).conversations), [conversation.id])
        assert.deepEqual(ids((await client.listConversations({ tags: { a: '1' } })).conversations), [])
      })

      it('listConversations keeps only conversations that carry every tag asked for', async () => {
        const both = (await client.createConversation({ tags: { topic: 'support', priority: 'high' } })).conversation
        await client.createConversation({ tags: { topic: 'support', priority: 'low' } })
        await client.createConversation({ tags: { priority: 'high' } })
        const { conversations } = await client.listConversations({ tags: { topic: 'support', priority: 'high' } })
        assert.deepEqual(ids(conversations), [both.id])
        assert.equal((await client.listConversations({ tags: { topic: 'support' } })).conversations.length, 2)
        assert.equal((await client.listConversations({ tags: { topic: 'nothing' } })).conversations.length, 0)
      })

      it('listConversations by participantIds lists the conversations that hold every one of those users', async () => {
        const ann = (await client.createUser({ name: 'Ann' })).user
        const bob = (await client.createUser({ name: 'Bob' })).user
        const c1 = (await client.createConversation({})).conversation
        const c2 = (await client.createConversation({})).conversation
        await client.createConversation({})
        await client.addParticipant({ id: c1.id, userId: ann.id })
        await client.addParticipant({ id: c1.id, userId: bob.id })
        await client.addParticipant({ id: c2.id, userId: ann.id })
        assert.deepEqual(sorted(ids((await client.listConversations({ participantIds: [ann.id] })).conversations)), sorted([c1.id, c2.id]))
        assert.deepEqual(ids((await client.listConversations({ participantIds: [bob.id] })).conversations), [c1.id])
        assert.deepEqual(ids((await client.listConversations({ participantIds: [ann.id, bob.id] })).conversations), [c1.id])
        assert.deepEqual(ids((await client.listConversations({ participantIds: [bob.id, ann.id] })).conversations), [c1.id])
        await client.updateConversation({ id: c1.id, tags: { kind: 'group' } })
        await client.updateConversation({ id: c2.id, tags: { kind: 'group' } })
        assert.deepEqual(ids((await client.listConversations({ participantIds: [bob.id], tags: { kind: 'group' } })).conversations), [c1.id])
        clock.advance(SECOND)
        await client.updateConversation({ id: c1.id, tags: { touched: 'yes' } })
        const byUpdate = await client.listConversations({ participantIds: [ann.id], sortField: 'updatedAt', sortDirection: 'desc' })
        assert.deepEqual(ids(byUpdate.conversations), [c1.id, c2.id])
        await client.removeParticipant({ id: c1.id, userId: bob.id })
        assert.deepEqual(ids((await client.listConversations({ participantIds: [ann.id, bob.id] })).conversations), [])
      })

      it('conversations list newest first by default, oldest first with asc, and by last update with sortField updatedAt', async () => {
        const made = []
        for (let i = 0; i < 4; i++) {
          made.push((await client.createConversation({ tags: { n: String(i) } })).conversation)
          clock.advance(SECOND)
        }
        assert.deepEqual(ids((await client.listConversations({})).conversations), ids(made).reverse())
        assert.deepEqual(ids((await client.listConversations({ sortDirection: 'desc' })).conversations), ids(made).reverse())
        assert.deepEqual(ids((await client.listConversations({ sortDirection: 'asc' })).conversations), ids(made))
        await client.updateConversation({ id: made[1]!.id, tags: { touched: 'yes' } })
        clock.advance(SECOND)
        await client.updateConversation({ id: made[0]!.id, tags: { touched: 'yes' } })
        const byUpdate = ids((await client.listConversations({ sortField: 'updatedAt', sortDirection: 'desc' })).conversations)
        assert.deepEqual(byUpdate, [made[0]!.id, made[1]!.id, made[3]!.id, made[2]!.id])
        const byUpdateAsc = ids((await client.listConversations({ sortField: 'updatedAt', sortDirection: 'asc' })).conversations)
        assert.deepEqual(byUpdateAsc, [...byUpdate].reverse())
        // createdAt order is untouched by updates
        assert.deepEqual(ids((await client.listConversations({ sortField: 'createdAt', sortDirection: 'asc' })).conversations), ids(made))
        // a tag filter keeps the order asked for
        assert.deepEqual(ids((await client.listConversations({ tags: { touched: 'yes' }, sortField: 'updatedAt', sortDirection: 'asc' })).conversations), [made[1]!.id, made[0]!.id])
      })
    })

    describe('participants', () => {
      it('a user added to a conversation is its participant until removed; adding twice is harmless', async () => {
        const { user, conversation } = await userAndConversation()
        await client.addParticipant({ id: conversation.id, userId: user.id })
        const { participant } = await client.getParticipant({ id: conversation.id, userId: user.id })
        assert.equal(participant.id, user.id)
        assert.equal(participant.name, 'Ann')
        const { participants, meta } = await client.listParticipants({ id: conversation.id })
        assert.deepEqual(ids(participants), [user.id])
        assert.deepEqual(meta, {})
        assert.deepEqual(ids((await client.listUsers({ conversationId: conversation.id })).users), [user.id])
        assert.deepEqual(await client.removeParticipant({ id: conversation.id, userId: user.id }), {})
        await rejectsWith(client.getParticipant({ id: conversation.id, userId: user.id }), 'ResourceNotFound', 404, user.id)
        assert.deepEqual((await client.listParticipants({ id: conversation.id })).participants, [])
        await rejectsWith(client.removeParticipant({ id: conversation.id, userId: user.id }), 'ResourceNotFound', 404)
        // the user and the conversation themselves remain
        await client.getUser({ id: user.id })
        await client.getConversation({ id: conversation.id })
      })

      it('a conversation with many participants lists them all across pages', async () => {
        const { conversation } = await client.createConversation({})
        const made: string[] = []
        for (let i = 0; i < 12; i++) {
          const { user } = await client.createUser({})
          await client.addParticipant({ id: conversation.id, userId: user.id })
          made.push(user.id)
        }
        const { items, sizes } = await walk(async (nextToken) => {
          const { participants, meta } = await client.listParticipants({ id: conversation.id, limit: 5, nextToken })
          return { items: participants, meta }
        })
        assert.deepEqual(sizes, [5, 5, 2])
        assert.deepEqual(sorted(ids(items)), sorted(made))
      })
    })

    describe('users', () => {
      it('a user is created with a name and tags, fetched, updated and found by tags', async () => {
        const { user } = await client.createUser({ name: 'Ann', pictureUrl: 'https://example.com/a.png', tags: { plan: 'pro', lang: 'fr' } })
        assert.match(user.id, /^user_/)
        assert.match(user.createdAt, isoPattern)
        assert.deepEqual((await client.getUser({ id: user.id })).user, user)
        clock.advance(SECOND)
        const { user: updated } = await client.updateUser({
          id: user.id,
          name: 'Annie',
          pictureUrl: null,
          tags: { lang: null, tz: 'UTC', plan: '' } as Record<string, string | null>,
        })
        assert.equal(updated.name, 'Annie')
        assert.ok(!('pictureUrl' in updated))
        assert.deepEqual(updated.tags, { tz: 'UTC' })
        assert.equal(updated.createdAt, user.createdAt)
        assert.notEqual(updated.updatedAt, user.updatedAt)
        assert.deepEqual((await client.getUser({ id: user.id })).user, updated)
        assert.deepEqual(ids((await client.listUsers({ tags: { tz: 'UTC' } })).users), [user.id])
        assert.deepEqual(ids((await client.listUsers({ tags: { plan: 'pro' } })).users), [])
      })

      it('getOrCreateUser finds the same user by id or by tags and says whether it created one', async () => {
        const first = await client.getOrCreateUser({ tags: { email: 'a@x.io' }, name: 'A' })
        assert.equal(first.meta.created, true)
        const again = await client.getOrCreateUser({ tags: { email: 'a@x.io' } })
        assert.equal(again.meta.created, false)
        assert.equal(again.user.id, first.user.id)
        const byId = await client.getOrCreateUser({ id: 'fixed-id', name: 'F' })
        assert.equal(byId.meta.created, true)
        assert.equal(byId.user.id, 'fixed-id')
        const byIdAgain = await client.getOrCreateUser({ id: 'fixed-id', name: 'other' })
        assert.equal(byIdAgain.meta.created, false)
        assert.equal(byIdAgain.user.name, 'F')
      })

      it('users list newest first, or oldest first with asc', async () => {
        const made = []
        for (let i = 0; i < 3; i++) {
          made.push((await client.createUser({})).user)
          clock.advance(SECOND)
        }
        assert.deepEqual(ids((await client.listUsers({})).users), ids(made).reverse())
        assert.deepEqual(ids((await client.listUsers({ sortDirection: 'asc' })).users), ids(made))
      })

      it('a deleted user is gone', async () => {
        const { user } = await client.createUser({ tags: { a: 'b' } })
        assert.deepEqual(await client.deleteUser({ id: user.id }), {})
        await rejectsWith(client.getUser({ id: user.id }), 'ResourceNotFound', 404, user.id)
        assert.deepEqual((await client.listUsers({})).users, [])
        assert.deepEqual((await client.listUsers({ tags: { a: 'b' } })).users, [])
      })
    })

    describe('messages', () => {
      it('a user message and the bot reply are stored in the conversation, newest first', async () => {
        const { user, conversation } = await userAndConversation()
        const { message: incoming } = await client.createMessage({
          conversationId: conversation.id,
          userId: user.id,
          type: 'text',
          payload: { text: 'hello' },
          tags: { lang: 'en' },
        })
        assert.match(incoming.id, /^msg_/)
        assert.equal(incoming.direction, 'incoming')
        assert.deepEqual(incoming.payload, { text: 'hello' })
        clock.advance(SECOND)
        const { message: reply } = await client.createMessage({
          conversationId: conversation.id,
          userId: 'bot1',
          type: 'text',
          payload: { text: 'hi!' },
          tags: {},
        })
        assert.equal(reply.direction, 'outgoing')
        assert.deepEqual((await client.getMessage({ id: incoming.id })).message, incoming)
        const { messages } = await client.listMessages({ conversationId: conversation.id })
        assert.deepEqual(ids(messages), [reply.id, incoming.id])
        assert.deepEqual(ids((await client.listMessages({ tags: { lang: 'en' } })).messages), [incoming.id])
        assert.deepEqual(ids((await client.listMessages({})).messages), [reply.id, incoming.id])
      })

      it('a message can be retagged and its payload replaced, then deleted', async () => {
        const { user, conversation } = await userAndConversation()
        const { message } = await client.createMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: { text: 'a' }, tags: { x: '1' } })
        clock.advance(SECOND)
        const { message: updated } = await client.updateMessage({ id: message.id, tags: { x: null, y: '2' } as Record<string, string | null>, payload: { text: 'b' } })
        assert.deepEqual(updated.tags, { y: '2' })
        assert.deepEqual(updated.payload, { text: 'b' })
        assert.notEqual(updated.updatedAt, message.updatedAt)
        assert.deepEqual((await client.getMessage({ id: message.id })).message, updated)
        assert.deepEqual((await client.listMessages({ tags: { x: '1' } })).messages, [])
        assert.deepEqual(ids((await client.listMessages({ tags: { y: '2' } })).messages), [message.id])
        assert.deepEqual(await client.deleteMessage({ id: message.id }), {})
        await rejectsWith(client.getMessage({ id: message.id }), 'ResourceNotFound', 404, message.id)
        assert.deepEqual((await client.listMessages({ conversationId: conversation.id })).messages, [])
        assert.deepEqual(await entriesMentioning(store, message.id), [])
      })

      it('a message payload over 128 KiB is refused with PayloadTooLarge and nothing is stored', async () => {
        const { user, conversation } = await userAndConversation()
        const before = await dump(store)
        await rejectsWith(
          client.createMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: { text: 'x'.repeat(128 * 1024) }, tags: {} }),
          'PayloadTooLarge',
          413,
        )
        assert.deepEqual(await dump(store), before)
        // just under the limit is fine
        const text = 'x'.repeat(128 * 1024 - JSON.stringify({ text: '' }).length)
        const { message } = await client.createMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: { text }, tags: {} })
        assert.equal((await client.getMessage({ id: message.id })).message.payload.text.length, text.length)
      })
    })

    describe('events', () => {
      it('an event is recorded as pending and can be fetched and listed by type and conversation', async () => {
        const { user, conversation } = await userAndConversation()
        const { event } = await client.createEvent({ type: 'ping', payload: { n: 1 }, conversationId: conversation.id, userId: user.id })
        assert.match(event.id, /^evt_/)
        assert.equal(event.status, 'pending')
        assert.deepEqual(event.payload, { n: 1 })
        assert.equal(event.conversationId, conversation.id)
        assert.deepEqual((await client.getEvent({ id: event.id })).event, event)
        clock.advance(SECOND)
        const { event: other } = await client.createEvent({ type: 'pong' })
        assert.deepEqual(other.payload, {})
        assert.deepEqual(ids((await client.listEvents({})).events), [other.id, event.id])
        assert.deepEqual(ids((await client.listEvents({ type: 'ping' })).events), [event.id])
        assert.deepEqual(ids((await client.listEvents({ conversationId: conversation.id })).events), [event.id])
        assert.deepEqual(ids((await client.listEvents({ userId: user.id, type: 'ping' })).events), [event.id])
        assert.deepEqual(ids((await client.listEvents({ userId: user.id, type: 'pong' })).events), [])
      })

      it('an event with a schedule (delay or dateTime) waits with status scheduled', async () => {
        const { event: delayed } = await client.createEvent({ type: 'reminder', payload: {}, schedule: { delay: 60_000 } })
        assert.equal(delayed.status, 'scheduled')
        assert.ok(!('dueAt' in delayed), 'the private due time is not shown')
        const dateTime = new Date(clock.now() + HOUR).toISOString()
        const { event: dated } = await client.createEvent({ type: 'reminder', payload: {}, schedule: { dateTime } })
        assert.equal(dated.status, 'scheduled')
        assert.equal((await client.getEvent({ id: delayed.id })).event.status, 'scheduled')
        assert.deepEqual(sorted(ids((await client.listEvents({ status: 'scheduled' })).events)), sorted([delayed.id, dated.id]))
        assert.deepEqual((await client.listEvents({ status: 'pending' })).events, [])
        // both wait in the due index, at their own times
        const due = (await dump(store)).filter(([k]) => inRange(k, layout.events.dueRange())).map(([k]) => k)
        assert.deepEqual(sorted(due), sorted([layout.events.due(clock.now() + 60_000, 'bot1', delayed.id), layout.events.due(clock.now() + HOUR, 'bot1', dated.id)]))
      })
    })

    describe('index entries', () => {
      it('no index entry is stored with an empty value (classic-level never frees the byte it allocates for one)', async () => {
        const { user, conversation } = await userAndConversation({ topic: 'billing' })
        await client.createMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: { text: 'hi' }, tags: { source: 'web' } })
        await client.createEvent({ type: 'ping', payload: {}, conversationId: conversation.id, userId: user.id })
        await client.createEvent({ type: 'later', payload: {}, schedule: { delay: 60_000 } })
        await client.setState({ type: 'conversation', id: conversation.id, name: 'sessionData', payload: { startTime: 'now', data: {} } })
        await client.updateConversation({ id: conversation.id, tags: { topic: 'refunds' } })
        await client.updateUser({ id: user.id, tags: { plan: 'free' } })
        const entries = await dump(store)
        assert.ok(entries.some(([k]) => inRange(k, layout.states.expiryRange())), 'the state waits in the expiry index')
        assert.deepEqual(entries.filter(([, value]) => value === '').map(([key]) => key), [])
      })
    })

    describe('states', () => {
      const scopes: StateType[] = ['conversation', 'user', 'bot', 'workflow']
      for (const type of scopes) {
        it(`a ${type} state is set, read, listed, merged, replaced and deleted`, async () => {
          const { user, conversation } = await userAndConversation()
          const id = { conversation: conversation.id, user: user.id, bot: 'bot1', workflow: 'wf_1' }[type]
          const { state } = await client.setState({ type, id, name: 'notes', payload: { a: 1, b: { c: 2 } } })
          assert.equal(state.type, type)
          assert.equal(state.id, id)
          assert.equal(state.name, 'notes')
          assert.deepEqual(state.payload, { a: 1, b: { c: 2 } })
          assert.ok(!('expiresAt' in state))
          assert.deepEqual((await client.getState({ type, id, name: 'notes' })).state, state)
          await client.setState({ type, id, name: 'other', payload: {} })
          assert.deepEqual((await client.listStates({ type, id })).states.map((s) => s.name), ['notes', 'other'])

          clock.advance(SECOND)
          const { state: patched } = await client.patchState({ type, id, name: 'notes', payload: { b: { d: 3 }, e: 4 } })
          assert.deepEqual(patched.payload, { a: 1, b: { d: 3 }, e: 4 }, 'patch merges one level deep')
          assert.equal(patched.createdAt, state.createdAt)
          assert.notEqual(patched.updatedAt, state.updatedAt)

          const { state: replaced } = await client.setState({ type, id, name: 'notes', payload: { z: true } })
          assert.deepEqual(replaced.payload, { z: true }, 'set replaces the whole payload')

          const kept = await client.getOrSetState({ type, id, name: 'notes', payload: { ignored: true } })
          assert.deepEqual(kept.state.payload, { z: true }, 'getOrSetState keeps an existing state')

          assert.deepEqual(await client.deleteState({ type, id, name: 'notes' }), {})
          await rejectsWith(client.getState({ type, id, name: 'notes' }), 'ResourceNotFound', 404, 'notes')
          assert.deepEqual((await client.listStates({ type, id })).states.map((s) => s.name), ['other'])
          // deleting again is harmless
          assert.deepEqual(await client.deleteState({ type, id, name: 'notes' }), {})

          const created = await client.getOrSetState({ type, id, name: 'notes', payload: { fresh: 1 } })
          assert.deepEqual(created.state.payload, { fresh: 1 })
          assert.deepEqual((await client.getState({ type, id, name: 'notes' })).state.payload, { fresh: 1 })
        })
      }

      it('setState with payload null deletes the state', async () => {
        const { user } = await userAndConversation()
        await client.setState({ type: 'user', id: user.id, name: 'prefs', payload: { a: 1 } })
        await client.setState({ type: 'user', id: user.id, name: 'prefs', payload: null })
        await rejectsWith(client.getState({ type: 'user', id: user.id, name: 'prefs' }), 'ResourceNotFound', 404)
        assert.deepEqual((await client.listStates({ type: 'user', id: user.id })).states, [])
        assert.deepEqual(await entriesMentioning(store, 'prefs'), [])
      })

      it('states of one owner are not seen by another owner or another scope', async () => {
        const { user, conversation } = await userAndConversation()
        const { user: bob } = await client.createUser({})
        await client.setState({ type: 'user', id: user.id, name: 'n', payload: { who: 'ann' } })
        await rejectsWith(client.getState({ type: 'user', id: bob.id, name: 'n' }), 'ResourceNotFound', 404)
        await rejectsWith(client.getState({ type: 'conversation', id: conversation.id, name: 'n' }), 'ResourceNotFound', 404)
        assert.deepEqual((await client.listStates({ type: 'user', id: bob.id })).states, [])
        await client.setState({ type: 'workflow', id: user.id, name: 'n', payload: { who: 'workflow' } })
        assert.deepEqual((await client.getState({ type: 'user', id: user.id, name: 'n' })).state.payload, { who: 'ann' })
      })

      it('patchState of a missing state is ResourceNotFound', async () => {
        await rejectsWith(client.patchState({ type: 'bot', id: 'bot1', name: 'nothing', payload: { a: 1 } }), 'ResourceNotFound', 404, 'nothing')
      })

      it('fifty concurrent getOrSetState calls with different payloads create the state once and all see it', async () => {
        const { conversation } = await userAndConversation()
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            client.getOrSetState({ type: 'conversation', id: conversation.id, name: 'counter', payload: { caller: i } }),
          ),
        )
        const payloads = new Set(results.map((r) => JSON.stringify(r.state.payload)))
        assert.equal(payloads.size, 1, 'every caller sees the same payload')
        assert.equal(results.filter((r) => !r.meta.cached).length, 1, 'exactly one call created it')
        const { state } = await client.getState({ type: 'conversation', id: conversation.id, name: 'counter' })
        assert.equal(JSON.stringify(state.payload), [...payloads][0])
        assert.equal((await entriesMentioning(store, 'counter')).length, 1, 'one stored state')
      })

      it('fifty concurrent patches of one state, each adding its own field, lose none', async () => {
        await client.setState({ type: 'bot', id: 'bot1', name: 'tally', payload: {} })
        await Promise.all(Array.from({ length: 50 }, (_, i) => client.patchState({ type: 'bot', id: 'bot1', name: 'tally', payload: { [`k${i}`]: i } })))
        const { state } = await client.getState({ type: 'bot', id: 'bot1', name: 'tally' })
        assert.equal(Object.keys(state.payload).length, 50)
      })

      it('a payload is measured in bytes: 70k two-byte characters are over 128 KiB', async () => {
        await rejectsWith(client.setState({ type: 'bot', id: 'bot1', name: 'accents', payload: { t: 'é'.repeat(70 * 1024) } }), 'PayloadTooLarge', 413)
        await client.setState({ type: 'bot', id: 'bot1', name: 'accents', payload: { t: 'é'.repeat(60 * 1024) } })
      })

      it('a Date in a payload is stored as its ISO string', async () => {
        const when = new Date(Date.UTC(2025, 4, 6, 7, 8, 9, 10))
        const { state } = await client.setState({ type: 'bot', id: 'bot1', name: 'config', payload: { lastRestart: when, nested: { at: when } } })
        assert.equal(state.payload.lastRestart, '2025-05-06T07:08:09.010Z')
        const { state: read } = await client.getState({ type: 'bot', id: 'bot1', name: 'config' })
        assert.deepEqual(read.payload, { lastRestart: '2025-05-06T07:08:09.010Z', nested: { at: '2025-05-06T07:08:09.010Z' } })
      })

      it('a state payload over 128 KiB is refused with PayloadTooLarge, for set, getOrSet and patch alike', async () => {
        await client.setState({ type: 'bot', id: 'bot1', name: 'big', payload: { a: 'small' } })
        const before = await dump(store)
        const huge = { blob: 'x'.repeat(128 * 1024) }
        await rejectsWith(client.setState({ type: 'bot', id: 'bot1', name: 'big', payload: huge }), 'PayloadTooLarge', 413)
        await rejectsWith(client.getOrSetState({ type: 'bot', id: 'bot1', name: 'big2', payload: huge }), 'PayloadTooLarge', 413)
        await rejectsWith(client.patchState({ type: 'bot', id: 'bot1', name: 'big', payload: huge }), 'PayloadTooLarge', 413)
        // two halves that fit alone but not merged
        const half = 'y'.repeat(70 * 1024)
        await client.setState({ type: 'bot', id: 'bot1', name: 'halves', payload: { one: half } })
        const mid = await dump(store)
        await rejectsWith(client.patchState({ type: 'bot', id: 'bot1', name: 'halves', payload: { two: half } }), 'PayloadTooLarge', 413)
        assert.deepEqual(await dump(store), mid)
        assert.ok(before.length < mid.length)
        assert.deepEqual((await client.getState({ type: 'bot', id: 'bot1', name: 'big' })).state.payload, { a: 'small' })
      })

      describe('schemas of declared states', () => {
        it('a declared state with a payload that fails its schema is refused with InvalidPayload naming the field', async () => {
          const { user, conversation } = await userAndConversation()
          const before = await dump(store)
          await rejectsWith(
            client.setState({ type: 'conversation', id: conversation.id, name: 'sessionData', payload: { startTime: 5, data: {} } }),
            'InvalidPayload',
            400,
            'startTime',
          )
          await rejectsWith(
            client.getOrSetState({ type: 'conversation', id: conversation.id, name: 'sessionData', payload: { startTime: 'now' } }),
            'InvalidPayload',
            400,
            'data',
          )
          await rejectsWith(client.setState({ type: 'user', id: user.id, name: 'profile', payload: { name: 'A', age: 'old' } }), 'InvalidPayload', 400, 'age')
          // declared as a conversation state: not a user state
          await rejectsWith(
            client.setState({ type: 'user', id: user.id, name: 'sessionData', payload: { startTime: 'now', data: {} } }),
            'InvalidPayload',
            400,
            'type',
          )
          assert.deepEqual(await dump(store), before)
        })

        it('a patch is checked on the merged payload', async () => {
          const { user } = await userAndConversation()
          await client.setState({ type: 'user', id: user.id, name: 'profile', payload: { name: 'A' } })
          const { state } = await client.patchState({ type: 'user', id: user.id, name: 'profile', payload: { age: 30 } })
          assert.deepEqual(state.payload, { name: 'A', age: 30 })
          const before = await dump(store)
          await rejectsWith(client.patchState({ type: 'user', id: user.id, name: 'profile', payload: { name: 7 } }), 'InvalidPayload', 400, 'name')
          assert.deepEqual(await dump(store), before)
        })

        it('an undeclared state name takes any JSON object, but not a non-object', async () => {
          const { user } = await userAndConversation()
          const payload = { anything: [1, 'two', { three: null }], nested: { deep: { deeper: true } } }
          const { state } = await client.setState({ type: 'user', id: user.id, name: 'preferences', payload })
          assert.deepEqual(state.payload, payload)
          await rejectsWith(client.setState({ type: 'user', id: user.id, name: 'preferences', payload: [1, 2] }), 'InvalidPayload', 400, 'payload')
          await rejectsWith(client.setState({ type: 'user', id: user.id, name: 'preferences', payload: 'text' }), 'InvalidPayload', 400, 'payload')
        })

        it('a state named like an Object.prototype member is not taken for a declared one', async () => {
          const { state } = await client.setState({ type: 'bot', id: 'bot1', name: 'constructor', payload: { a: 1 } })
          assert.deepEqual(state.payload, { a: 1 })
          assert.ok(!('expiresAt' in state))
        })
      })

      describe('expiry (in seconds)', () => {
        it('a declared state with expiry 3600 is readable for an hour and gone the instant the hour passes', async () => {
          const { conversation } = await userAndConversation()
          const address = { type: 'conversation' as const, id: conversation.id, name: 'sessionData' }
          const { state } = await client.setState({ ...address, payload: { startTime: 'now', data: {} } })
          assert.equal(state.expiresAt, new Date(clock.now() + HOUR).toISOString())
          clock.advance(HOUR - 1)
          assert.deepEqual((await client.getState(address)).state.payload, { startTime: 'now', data: {} })
          assert.equal((await client.listStates({ type: 'conversation', id: conversation.id })).states.length, 1)
          clock.advance(1)
          await rejectsWith(client.getState(address), 'ResourceNotFound', 404, 'sessionData')
          assert.deepEqual((await client.listStates({ type: 'conversation', id: conversation.id })).states, [])
          await rejectsWith(client.patchState({ ...address, payload: { data: { a: 1 } } }), 'ResourceNotFound', 404)
          // getOrSetState of an expired state starts afresh, with a new hour
          const { state: fresh, meta } = await client.getOrSetState({ ...address, payload: { startTime: 'later', data: {} } })
          assert.equal(meta.cached, false)
          assert.deepEqual(fresh.payload, { startTime: 'later', data: {} })
          assert.equal(fresh.createdAt, new Date(clock.now()).toISOString())
          assert.equal(fresh.expiresAt, new Date(clock.now() + HOUR).toISOString())
        })

        it('each write renews the expiry', async () => {
          const { conversation } = await userAndConversation()
          const address = { type: 'conversation' as const, id: conversation.id, name: 'sessionData' }
          await client.setState({ ...address, payload: { startTime: 's', data: {} } })
          clock.advance(HOUR / 2)
          await client.setState({ ...address, payload: { startTime: 's', data: { n: 1 } } })
          clock.advance(HOUR / 2 + 1)
          assert.deepEqual((await client.getState(address)).state.payload.data, { n: 1 }, 'still there an hour after it was first set')
          const { state } = await client.patchState({ ...address, payload: { data: { n: 2 } } })
          assert.equal(state.expiresAt, new Date(clock.now() + HOUR).toISOString())
          clock.advance(HOUR - 1)
          await client.getState(address)
          clock.advance(1)
          await rejectsWith(client.getState(address), 'ResourceNotFound', 404)
          // one pending expiry entry per state, at its latest time
          const expiries = (await dump(store)).filter(([k]) => inRange(k, layout.states.expiryRange()))
          assert.equal(expiries.length, 1)
        })

        it('an expiry given on the call overrides the default, and null means the state never expires', async () => {
          const { user, conversation } = await userAndConversation()
          const session = { type: 'conversation' as const, id: conversation.id, name: 'sessionData' }
          const { state } = await client.setState({ ...session, payload: { startTime: 's', data: {} }, expiry: 60 })
          assert.equal(state.expiresAt, new Date(clock.now() + 60 * SECOND).toISOString())
          const { state: cleared } = await client.setState({ ...session, payload: { startTime: 's', data: {} }, expiry: null })
          assert.ok(!('expiresAt' in cleared))
          clock.advance(1000 * HOUR)
          assert.equal((await client.getState(session)).state.payload.startTime, 's')
          assert.deepEqual((await dump(store)).filter(([k]) => inRange(k, layout.states.expiryRange())), [])

          const undeclared = { type: 'user' as const, id: user.id, name: 'otp' }
          const { state: otp } = await client.getOrSetState({ ...undeclared, payload: { code: '1234' }, expiry: 30 })
          assert.equal(otp.expiresAt, new Date(clock.now() + 30 * SECOND).toISOString())
          clock.advance(30 * SECOND)
          await rejectsWith(client.getState(undeclared), 'ResourceNotFound', 404)
          assert.deepEqual((await client.listStates({ type: 'user', id: user.id })).states, [])
        })

        it('a state without any expiry never expires', async () => {
          await client.setState({ type: 'bot', id: 'bot1', name: 'forever', payload: { a: 1 } })
          clock.advance(10 * 365 * 24 * HOUR)
          assert.deepEqual((await client.getState({ type: 'bot', id: 'bot1', name: 'forever' })).state.payload, { a: 1 })
        })
      })
    })

    describe('expiry in milliseconds (a Botpress project, as Botpress Cloud)', () => {
      const msStates: Record<string, StateDefinition> = { sessionData: { ...declaredStates.sessionData!, expiry: HOUR } }
      const msClient = () => createClient({ store, botId: 'bot1', clock, states: msStates, expiryUnit: 'ms' })

      it('the definition’s expiry and the call’s are milliseconds, and so is the expiry a state answers with', async () => {
        const ms = msClient()
        const { conversation } = await ms.createConversation({})
        const address = { type: 'conversation' as const, id: conversation.id, name: 'sessionData' }
        const { state } = await ms.setState({ ...address, payload: { startTime: 'now', data: {} } })
        assert.equal(state.expiry, HOUR)
        assert.equal(state.expiresAt, new Date(clock.now() + HOUR).toISOString())
        const { state: brief } = await ms.setState({ ...address, payload: { startTime: 'now', data: {} }, expiry: 1500 })
        assert.equal(brief.expiry, 1500)
        assert.equal(brief.expiresAt, new Date(clock.now() + 1500).toISOString())
        // the same stored state, read by a client in seconds
        assert.equal((await client.getState(address)).state.expiry, 1.5)
        const { state: renewed } = await ms.setStateExpiry({ ...address, expiry: 2 * HOUR })
        assert.equal(renewed.expiresAt, new Date(clock.now() + 2 * HOUR).toISOString())
        clock.advance(2 * HOUR)
        await rejectsWith(ms.getState(address), 'ResourceNotFound', 404)
      })

      it('an expiry of 0 ms or over 30 days is InvalidPayload, as Botpress Cloud’s bounds', async () => {
        const ms = msClient()
        const address = { type: 'bot' as const, id: 'bot1', name: 'cache' }
        await rejectsWith(ms.setState({ ...address, payload: {}, expiry: 0 }), 'InvalidPayload', 400, 'expiry')
        await rejectsWith(ms.setState({ ...address, payload: {}, expiry: 30 * 24 * HOUR + 1 }), 'InvalidPayload', 400, 'expiry')
        assert.equal((await ms.setState({ ...address, payload: {}, expiry: 30 * 24 * HOUR })).state.expiry, 30 * 24 * HOUR)
        assert.equal((await ms.setState({ ...address, payload: {}, expiry: 1 })).state.expiry, 1)
      })

      it('in seconds, setStateExpiry counts seconds from now and keeps the payload', async () => {
        const address = { type: 'bot' as const, id: 'bot1', name: 'cache' }
        await client.setState({ ...address, payload: { a: 1 } })
        clock.advance(SECOND)
        const { state } = await client.setStateExpiry({ ...address, expiry: 60 })
        assert.deepEqual(state.payload, { a: 1 })
        assert.equal(state.expiry, 60)
        assert.equal(state.expiresAt, new Date(clock.now() + 60 * SECOND).toISOString())
      })
    })

    describe('records stored before Botpress’s shapes', () => {
      it('a conversation stored with integration { id, name } or none reads with integration as a string', async () => {
        const at = new Date(clock.now()).toISOString()
        const old = (id: string, integration?: { id: string; name: string }) => ({ id, createdAt: at, updatedAt: at, channel: 'channel', tags: {}, ...(integration ? { integration } : {}) })
        await store.batch([
          { type: 'put', key: layout.conversations.record('bot1', 'old-tg'), value: JSON.stringify(old('old-tg', { id: 'telegram', name: 'telegram' })) },
          { type: 'put', key: layout.conversations.byTime('bot1', 'createdAt', clock.now(), 'old-tg'), value: '' },
          { type: 'put', key: layout.conversations.record('bot1', 'old-none'), value: JSON.stringify(old('old-none')) },
        ])
        assert.equal((await client.getConversation({ id: 'old-tg' })).conversation.integration, 'telegram')
        assert.equal((await client.getConversation({ id: 'old-none' })).conversation.integration, 'chat')
        assert.deepEqual(ids((await client.listConversations({ integrationName: 'telegram' })).conversations), ['old-tg'])
        assert.equal((await client.updateConversation({ id: 'old-none', tags: { a: 'b' } })).conversation.integration, 'chat')
      })
    })

    describe('paging', () => {
      it('every list walks all its records once, page by page, and the last page has no nextToken', async () => {
        const { user, conversation } = await userAndConversation({ group: 'g' })
        const made = { conversations: [conversation.id], users: [user.id], messages: [] as string[], events: [] as string[], states: [] as string[] }
        for (let i = 0; i < 22; i++) {
          clock.advance(i % 3 === 0 ? 0 : SECOND) // some records share a millisecond
          made.conversations.push((await client.createConversation({ tags: { group: 'g' } })).conversation.id)
          made.users.push((await client.createUser({ tags: { group: 'g' } })).user.id)
          made.messages.push((await client.createMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: { i }, tags: { group: 'g' } })).message.id)
          made.events.push((await client.createEvent({ type: 'tick', payload: { i } })).event.id)
          made.states.push((await client.setState({ type: 'conversation', id: conversation.id, name: `s${String(i).padStart(2, '0')}`, payload: { i } })).state.name)
        }
        const lists: [string, (limit: number, nextToken?: string) => Promise<PageOf<string>>][] = [
          ['conversations', async (limit, nextToken) => { const r = await client.listConversations({ limit, nextToken }); return { items: ids(r.conversations), meta: r.meta } }],
          ['conversations', async (limit, nextToken) => { const r = await client.listConversations({ limit, nextToken, sortDirection: 'asc', sortField: 'updatedAt' }); return { items: ids(r.conversations), meta: r.meta } }],
          ['conversations', async (limit, nextToken) => { const r = await client.listConversations({ limit, nextToken, tags: { group: 'g' } }); return { items: ids(r.conversations), meta: r.meta } }],
          ['users', async (limit, nextToken) => { const r = await client.listUsers({ limit, nextToken }); return { items: ids(r.users), meta: r.meta } }],
          ['users', async (limit, nextToken) => { const r = await client.listUsers({ limit, nextToken, sortDirection: 'asc' }); return { items: ids(r.users), meta: r.meta } }],
          ['messages', async (limit, nextToken) => { const r = await client.listMessages({ limit, nextToken, conversationId: conversation.id }); return { items: ids(r.messages), meta: r.meta } }],
          ['messages', async (limit, nextToken) => { const r = await client.listMessages({ limit, nextToken, tags: { group: 'g' } }); return { items: ids(r.messages), meta: r.meta } }],
          ['events', async (limit, nextToken) => { const r = await client.listEvents({ limit, nextToken }); return { items: ids(r.events), meta: r.meta } }],
          ['states', async (limit, nextToken) => { const r = await client.listStates({ type: 'conversation', id: conversation.id, limit, nextToken }); return { items: r.states.map((s) => s.name), meta: r.meta } }],
        ]
        for (const [kind, list] of lists) {
          const expected = made[kind as keyof typeof made]
          for (const limit of [1, 7, 23, 100]) {
            const { items, sizes } = await walk((token) => list(limit, token))
            assert.deepEqual(sorted(items), sorted(expected), `${kind} with limit ${limit}`)
            assert.equal(new Set(items).size, items.length, `${kind} with limit ${limit}: no repeats`)
            assert.equal(sizes.length, Math.max(1, Math.ceil(expected.length / limit)), `${kind} with limit ${limit}: pages`)
          }
          const { items } = await walk((token) => list(20, token))
          assert.equal(items.length, expected.length)
        }
      })

      it('without a limit a page holds 20 records', async () => {
        for (let i = 0; i < 25; i++) await client.createUser({})
        const first = await client.listUsers({})
        assert.equal(first.users.length, 20)
        assert.equal(typeof first.meta.nextToken, 'string')
        const second = await client.listUsers({ nextToken: first.meta.nextToken })
        assert.equal(second.users.length, 5)
        assert.deepEqual(second.meta, {})
      })

      it('when the records fill the last page exactly, it still has no nextToken', async () => {
        for (let i = 0; i < 10; i++) await client.createConversation({})
        const first = await client.listConversations({ limit: 5 })
        assert.ok(first.meta.nextToken)
        const second = await client.listConversations({ limit: 5, nextToken: first.meta.nextToken })
        assert.equal(second.conversations.length, 5)
        assert.deepEqual(second.meta, {})
        const all = await client.listConversations({ limit: 10 })
        assert.equal(all.conversations.length, 10)
        assert.deepEqual(all.meta, {})
      })

      for (const sortDirection of ['asc', 'desc'] as const) {
        it(`records written during a walk (${sortDirection}) do not make it repeat or skip the records that existed throughout`, async () => {
          const existing: string[] = []
          for (let i = 0; i < 30; i++) {
            existing.push((await client.createConversation({ tags: { n: String(i) } })).conversation.id)
            if (i % 4 === 0) clock.advance(SECOND)
          }
          const doomed = new Set(existing.filter((_, i) => i % 7 === 3))
          const survivors = existing.filter((id) => !doomed.has(id))
          const created: string[] = []
          const { items } = await walk(
            async (nextToken) => {
              const r = await client.listConversations({ limit: 4, nextToken, sortField: 'createdAt', sortDirection })
              return { items: ids(r.conversations), meta: r.meta }
            },
            async (page) => {
              // between pages: new conversations (some in the same millisecond), updates and a delete
              for (let j = 0; j < 3; j++) created.push((await client.createConversation({ tags: { late: String(page) } })).conversation.id)
              clock.advance(j0(page))
              await client.updateConversation({ id: survivors[(page * 5) % survivors.length]!, tags: { touched: String(page) } })
              const victim = [...doomed][page - 1]
              if (victim) await client.deleteConversation({ id: victim })
            },
          )
          assert.equal(new Set(items).size, items.length, 'no conversation seen twice')
          for (const id of survivors) assert.ok(items.includes(id), `${id} existed throughout and was seen`)
          for (const id of items) assert.ok(existing.includes(id) || created.includes(id))
        })
      }
    })

    describe('deletes cascade', () => {
      async function scene() {
        const { user: ann } = await client.createUser({ name: 'Ann', tags: { team: 'red' } })
        const { user: bob } = await client.createUser({ name: 'Bob', tags: { team: 'red' } })
        const { conversation: doomed } = await client.createConversation({ tags: { topic: 'billing' } })
        const { conversation: kept } = await client.createConversation({ tags: { topic: 'billing' } })
        for (const c of [doomed, kept])
          for (const u of [ann, bob]) await client.addParticipant({ id: c.id, userId: u.id })
        clock.advance(SECOND)
        await client.updateConversation({ id: doomed.id, tags: { status: 'open' } })
        const messages: Record<string, string[]> = { [doomed.id]: [], [kept.id]: [] }
        for (const c of [doomed, kept]) {
          for (const u of [ann.id, bob.id, 'bot1']) {
            const { message } = await client.createMessage({ conversationId: c.id, userId: u, type: 'text', payload: { text: `${u} in ${c.id}` }, tags: { kind: 'chat' } })
            messages[c.id]!.push(message.id)
          }
          await client.createEvent({ type: 'seen', conversationId: c.id, userId: ann.id })
          await client.createEvent({ type: 'later', conversationId: c.id, schedule: { delay: 60_000 } })
          await client.setState({ type: 'conversation', id: c.id, name: 'sessionData', payload: { startTime: 'x', data: { c: c.id } } })
          await client.setState({ type: 'conversation', id: c.id, name: 'plain', payload: { a: 1 } })
        }
        for (const u of [ann, bob]) {
          await client.setState({ type: 'user', id: u.id, name: 'prefs', payload: { lang: 'en' }, expiry: 600 })
          await client.setState({ type: 'user', id: u.id, name: 'profile', payload: { name: u.name! } })
          await client.createEvent({ type: 'login', userId: u.id })
        }
        await client.setState({ type: 'bot', id: 'bot1', name: 'config', payload: { v: 1 } })
        const workflows: Record<string, string> = {}
        for (const c of [doomed, kept]) {
          const { workflow } = await client.createWorkflow({ name: 'onboarding', status: 'pending', conversationId: c.id, tags: { kind: 'chat' } })
          workflows[c.id] = workflow.id
          await client.setState({ type: 'workflow', id: workflow.id, name: 'progress', payload: { step: 1 } })
        }
        await client.createWorkflow({ name: 'survey', status: 'listening', userId: ann.id })
        // the same story for another bot on the same store
        const other = testClient(store, { botId: 'other', clock }).client
        const { user: otherUser } = await other.createUser({ name: 'Zed' })
        const { conversation: otherConv } = await other.createConversation({})
        await other.addParticipant({ id: otherConv.id, userId: otherUser.id })
        await other.createMessage({ conversationId: otherConv.id, userId: otherUser.id, type: 'text', payload: { text: 'hi' }, tags: {} })
        await other.setState({ type: 'conversation', id: otherConv.id, name: 'x', payload: { a: 1 }, expiry: 60 })
        return { ann, bob, doomed, kept, messages, workflows, otherBefore: await botEntries(store, 'other') }
      }

      it('deleting a conversation leaves no key or value naming it, nor its workflows and their states, and everything else in place', async () => {
        const { ann, bob, doomed, kept, messages, workflows, otherBefore } = await scene()
        assert.ok((await entriesMentioning(store, doomed.id)).length > 10)
        assert.deepEqual(await client.deleteConversation({ id: doomed.id }), {})
        assert.deepEqual(await entriesMentioning(store, doomed.id), [])
        for (const id of messages[doomed.id]!) {
          assert.deepEqual(await entriesMentioning(store, id), [], `message ${id} is gone`)
          await rejectsWith(client.getMessage({ id }), 'ResourceNotFound', 404)
        }
        await rejectsWith(client.getConversation({ id: doomed.id }), 'ResourceNotFound', 404)
        await rejectsWith(client.getState({ type: 'conversation', id: doomed.id, name: 'plain' }), 'ResourceNotFound', 404)
        assert.deepEqual(await entriesMentioning(store, workflows[doomed.id]!), [], 'the workflow and its state are gone')
        // the rest stands
        assert.deepEqual(ids((await client.listWorkflows({ name: 'onboarding' })).workflows), [workflows[kept.id]])
        assert.equal((await client.listWorkflows({ name: 'survey' })).workflows.length, 1)
        assert.deepEqual((await client.getState({ type: 'workflow', id: workflows[kept.id]!, name: 'progress' })).state.payload, { step: 1 })
        assert.deepEqual(ids((await client.listConversations({})).conversations), [kept.id])
        assert.deepEqual(ids((await client.listConversations({ tags: { topic: 'billing' } })).conversations), [kept.id])
        assert.deepEqual(ids((await client.listConversations({ participantIds: [ann.id] })).conversations), [kept.id])
        assert.deepEqual(sorted(ids((await client.listMessages({})).messages)), sorted(messages[kept.id]!))
        assert.deepEqual(sorted(ids((await client.listMessages({ tags: { kind: 'chat' } })).messages)), sorted(messages[kept.id]!))
        assert.deepEqual(sorted(ids((await client.listParticipants({ id: kept.id })).participants)), sorted([ann.id, bob.id]))
        assert.equal((await client.listStates({ type: 'conversation', id: kept.id })).states.length, 2)
        assert.equal((await client.listStates({ type: 'user', id: ann.id })).states.length, 2)
        assert.equal((await client.listEvents({ type: 'later' })).events.length, 1)
        assert.equal((await client.listEvents({ type: 'login' })).events.length, 2)
        const due = (await dump(store)).filter(([k]) => inRange(k, layout.events.dueRange()))
        assert.equal(due.length, 1, 'only the kept conversation\'s scheduled event still waits')
        assert.ok(due[0]![0].includes((await client.listEvents({ type: 'later' })).events[0]!.id))
        const expiries = (await dump(store)).filter(([k]) => inRange(k, layout.states.expiryRange()))
        assert.equal(expiries.length, 4, 'the kept conversation\'s session, two user prefs and the other bot\'s state')
        await client.getUser({ id: ann.id })
        assert.deepEqual(await botEntries(store, 'other'), otherBefore)
      })

      it('deleting a user leaves no key or value naming it, and the conversations it was in remain', async () => {
        const { ann, bob, doomed, kept, messages, otherBefore } = await scene()
        assert.deepEqual(await client.deleteUser({ id: ann.id }), {})
        assert.deepEqual(await entriesMentioning(store, ann.id), [])
        await rejectsWith(client.getUser({ id: ann.id }), 'ResourceNotFound', 404)
        await rejectsWith(client.getState({ type: 'user', id: ann.id, name: 'prefs' }), 'ResourceNotFound', 404)
        for (const c of [doomed, kept]) {
          await client.getConversation({ id: c.id })
          assert.deepEqual(ids((await client.listParticipants({ id: c.id })).participants), [bob.id])
          const left = ids((await client.listMessages({ conversationId: c.id })).messages)
          assert.equal(left.length, 2, 'the messages of Bob and of the bot remain')
          assert.ok(left.every((id) => messages[c.id]!.includes(id)))
        }
        assert.deepEqual(ids((await client.listUsers({})).users), [bob.id])
        assert.deepEqual(ids((await client.listUsers({ tags: { team: 'red' } })).users), [bob.id])
        assert.deepEqual((await client.listConversations({ participantIds: [ann.id] })).conversations, [])
        assert.equal((await client.listConversations({ participantIds: [bob.id] })).conversations.length, 2)
        assert.equal((await client.listStates({ type: 'user', id: bob.id })).states.length, 2)
        assert.equal((await client.listEvents({ type: 'login' })).events.length, 1)
        assert.deepEqual((await client.listWorkflows({ name: 'survey' })).workflows, [], 'its workflow went with it')
        assert.equal((await client.listWorkflows({ name: 'onboarding' })).workflows.length, 2)
        assert.deepEqual(await botEntries(store, 'other'), otherBefore)
      })

      it('deleting a user whose state has already expired removes that state too', async () => {
        const { user } = await client.createUser({})
        await client.setState({ type: 'user', id: user.id, name: 'otp', payload: { code: 1 }, expiry: 1 })
        clock.advance(2 * SECOND)
        await client.deleteUser({ id: user.id })
        assert.deepEqual(await entriesMentioning(store, user.id), [])
      })
    })

    describe('two bots on one store', () => {
      it('bot a and bot b never see each other’s records, even with the same ids', async () => {
        const a = testClient(store, { botId: 'a', clock }).client
        const b = testClient(store, { botId: 'b', clock }).client
        const { user } = await a.createUser({ id: 'same-user', name: 'A user', tags: { t: '1' } })
        const { conversation } = await a.createConversation({ id: 'same-conv', tags: { t: '1' } })
        await a.addParticipant({ id: conversation.id, userId: user.id })
        const { message } = await a.createMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: { text: 'a' }, tags: {} })
        const { event } = await a.createEvent({ type: 'e', conversationId: conversation.id })
        await a.setState({ type: 'conversation', id: conversation.id, name: 'n', payload: { from: 'a' } })
        await a.setState({ type: 'bot', id: 'a', name: 'n', payload: { from: 'a' } })
        await a.setState({ type: 'workflow', id: 'wf', name: 'n', payload: { from: 'a' } })

        await rejectsWith(b.getUser({ id: user.id }), 'ResourceNotFound', 404)
        await rejectsWith(b.getConversation({ id: conversation.id }), 'ResourceNotFound', 404)
        await rejectsWith(b.getMessage({ id: message.id }), 'ResourceNotFound', 404)
        await rejectsWith(b.getEvent({ id: event.id }), 'ResourceNotFound', 404)
        await rejectsWith(b.getState({ type: 'conversation', id: conversation.id, name: 'n' }), 'ResourceNotFound', 404)
        await rejectsWith(b.getState({ type: 'workflow', id: 'wf', name: 'n' }), 'ResourceNotFound', 404)
        await rejectsWith(b.getState({ type: 'bot', id: 'a', name: 'n' }), 'ResourceNotFound', 404)
        await rejectsWith(b.updateConversation({ id: conversation.id, tags: { x: 'y' } }), 'ResourceNotFound', 404)
        await rejectsWith(b.deleteUser({ id: user.id }), 'ResourceNotFound', 404)
        assert.deepEqual((await b.listConversations({})).conversations, [])
        assert.deepEqual((await b.listConversations({ tags: { t: '1' } })).conversations, [])
        assert.deepEqual((await b.listUsers({})).users, [])
        assert.deepEqual((await b.listMessages({})).messages, [])
        assert.deepEqual((await b.listEvents({})).events, [])
        assert.deepEqual((await b.listStates({ type: 'workflow', id: 'wf' })).states, [])

        // b makes records with the same ids: both live side by side
        const bAll = await b.getOrCreateUser({ id: 'same-user', name: 'B user' })
        assert.equal(bAll.meta.created, true)
        await b.createConversation({ id: 'same-conv' })
        await b.setState({ type: 'workflow', id: 'wf', name: 'n', payload: { from: 'b' } })
        assert.equal((await a.getUser({ id: 'same-user' })).user.name, 'A user')
        assert.equal((await b.getUser({ id: 'same-user' })).user.name, 'B user')
        assert.deepEqual((await a.getState({ type: 'workflow', id: 'wf', name: 'n' })).state.payload, { from: 'a' })
        assert.deepEqual((await b.getState({ type: 'workflow', id: 'wf', name: 'n' })).state.payload, { from: 'b' })

        // deleting b's copy leaves a's untouched
        const aBefore = await botEntries(store, 'a')
        await b.deleteConversation({ id: 'same-conv' })
        await b.deleteUser({ id: 'same-user' })
        assert.deepEqual(await botEntries(store, 'a'), aBefore)
        const bLeft = await botEntries(store, 'b')
        assert.equal(bLeft.length, 1, 'only b\'s workflow state is left')
        assert.ok(bLeft[0]![0].includes('wf'))
        assert.equal((await a.listMessages({ conversationId: 'same-conv' })).messages.length, 1)
      })
    })
  })
}

/** A clock step that varies by page: 0 ms on some pages, so records share a millisecond. */
function j0(page: number) {
  return page % 2 === 0 ? 0 : SECOND
}
