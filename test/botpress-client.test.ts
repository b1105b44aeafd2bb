/**
 * Botpress's own client, @botpress/client, pointed at localbot's HTTP API, as a bot deployed to Botpress
 * Cloud would call it: every resource created, read, listed (page by page, and through the client's
 * `list.*` collections), updated and deleted over the wire, and errors of the classes Botpress raises.
 */
import assert from 'node:assert/strict'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { Client as BotpressClient, InvalidPayloadError, isApiError, ResourceNotFoundError } from '@botpress/client'
import { createClient, type Client } from '../runtime/client/index.ts'
import { routes, serveBotpressApi } from '../runtime/faces/botpress-api.ts'
import * as layout from '../runtime/store/layout.ts'
import type { Store } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'
import { backends } from './support/backends.ts'

const BOT = 'bot1'
const START = Date.UTC(2026, 0, 1)
const MINUTE = 60_000

/** Asserts that `promise` rejects with an error of @botpress/client of `errorClass`, whose message names every `words`. */
async function rejectsAs(promise: Promise<unknown>, errorClass: new (...args: never[]) => Error, ...words: string[]) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isApiError(error), `an API error, not ${String(error)}`)
    assert.ok(error instanceof errorClass, `${error.type}: ${error.message}`)
    assert.match(error.id ?? '', /^err_/, 'the id localbot gave, not UNKNOWN')
    for (const word of words) assert.ok(error.message.includes(word), `${JSON.stringify(error.message)} should name ${word}`)
    return true
  })
}

/** A raw request, its path sent as written (a URL would fold `..`), for what the official client cannot send. */
function raw(url: string, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }))
    })
    req.on('error', reject)
    req.end()
  })
}

it('each route of the table is the method and path @botpress/client 1.45 sends for that call', async () => {
  const seen: string[] = []
  const recorder = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  })
  await new Promise<void>((done) => recorder.listen(0, '127.0.0.1', done))
  try {
    const client = new BotpressClient({ apiUrl: `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`, botId: BOT, token: 'x' })
    const params = { id: 'p-id', userId: 'p-userId', type: 'p-type', name: 'p-name', key: 'p-key', table: 'p-table' }
    for (const route of routes) {
      const call = (client as unknown as Record<string, (input: unknown) => Promise<unknown>>)[route.name]
      assert.equal(typeof call, 'function', `@botpress/client has ${route.name}`)
      await call!.call(client, params)
      const path = route.segments.map((s) => (s.startsWith('{') ? params[s.slice(1, -1) as keyof typeof params] : s)).join('/')
      assert.equal(seen.pop()?.split('?')[0], `${route.method} ${path}`, route.name)
    }
  } finally {
    recorder.closeAllConnections()
    await new Promise<void>((done) => recorder.close(() => done()))
  }
})

for (const backend of backends) {
  describe(backend.name, { skip: backend.skip }, () => {
    let store: Store
    let closeStore: () => Promise<void>
    let server: Server
    let url: string
    let clock: VirtualClock
    /** The bot's in-process client: the same calls the HTTP API makes. */
    let local: Client
    let bp: BotpressClient

    beforeEach(async () => {
      ;({ store, close: closeStore } = await backend.open())
      clock = new VirtualClock(START)
      // A Botpress project: its state expiries are in milliseconds, as Botpress Cloud's.
      local = createClient({ store, botId: BOT, clock, expiryUnit: 'ms' })
      const host = { clientFor: (botId: string) => (botId === BOT ? local : undefined) }
      server = createServer((req, res) => {
        void serveBotpressApi(host, req, res, (req.url ?? '/').split('?')[0]!).then((served) => {
          if (!served) res.writeHead(404).end('{}')
        })
      })
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      bp = new BotpressClient({ apiUrl: url, botId: BOT, token: 'x' })
    })

    afterEach(async () => {
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
      await closeStore()
    })

    describe('conversations and participants', () => {
      it('a conversation is created with Botpress’s shape, fetched, updated, found again by tags, and deleted', async () => {
        const { conversation } = await bp.createConversation({ channel: 'web', tags: { topic: 'billing' } })
        assert.equal(conversation.integration, 'chat')
        assert.equal(conversation.channel, 'web')
        assert.deepEqual(conversation.tags, { topic: 'billing' })
        assert.deepEqual((await bp.getConversation({ id: conversation.id })).conversation, conversation)

        const updated = await bp.updateConversation({ id: conversation.id, tags: { topic: null, priority: 'high' } })
        assert.deepEqual(updated.conversation.tags, { priority: 'high' })

        const again = await bp.getOrCreateConversation({ channel: 'web', tags: { priority: 'high' } })
        assert.deepEqual(again, { conversation: updated.conversation, meta: { created: false } })
        const other = await bp.getOrCreateConversation({ channel: 'web', tags: { priority: 'low' }, integrationName: 'telegram' })
        assert.equal(other.meta.created, true)
        assert.equal(other.conversation.integration, 'telegram')

        assert.deepEqual(await bp.deleteConversation({ id: conversation.id }), {})
        await rejectsAs(bp.getConversation({ id: conversation.id }), ResourceNotFoundError, conversation.id)
      })

      it('conversations list page by page with nextToken, through list.conversations, and by tags and participants', async () => {
        const { user: ann } = await bp.createUser({ tags: {}, name: 'Ann' })
        const { user: bo } = await bp.createUser({ tags: {} })
        const made: string[] = []
        for (let i = 0; i < 5; i++) {
          clock.advance(1000)
          const { conversation } = await bp.createConversation({ channel: 'web', tags: { n: String(i % 2) } })
          made.push(conversation.id)
          await bp.addParticipant({ id: conversation.id, userId: ann.id })
          if (i < 2) await bp.addParticipant({ id: conversation.id, userId: bo.id })
        }
        const pages: string[][] = []
        let nextToken: string | undefined
        do {
          const page = await bp.listConversations({ nextToken, pageSize: 2 } as Parameters<BotpressClient['listConversations']>[0])
          pages.push(page.conversations.map((c) => c.id))
          nextToken = page.meta.nextToken
        } while (nextToken)
        assert.deepEqual(pages, [[made[4], made[3]], [made[2], made[1]], [made[0]]])

        const all = await bp.list.conversations({ sortDirection: 'asc' }).collect()
        assert.deepEqual(all.map((c) => c.id), made)
        const tagged = await bp.listConversations({ tags: { n: '0' } })
        assert.deepEqual(tagged.conversations.map((c) => c.id), [made[4], made[2], made[0]])
        const both = await bp.listConversations({ participantIds: [ann.id, bo.id] })
        assert.deepEqual(both.conversations.map((c) => c.id), [made[1], made[0]])
        const one = await bp.listConversations({ participantIds: [bo.id] })
        assert.deepEqual(one.conversations.map((c) => c.id), [made[1], made[0]])
      })

      it('a participant is added, fetched, listed and removed', async () => {
        const { conversation } = await bp.createConversation({ channel: 'web', tags: {} })
        const { user } = await bp.createUser({ tags: {}, name: 'Ann', pictureUrl: 'https://example.com/ann.png' })
        assert.deepEqual(await bp.addParticipant({ id: conversation.id, userId: user.id }), { participant: user })
        assert.deepEqual(await bp.getParticipant({ id: conversation.id, userId: user.id }), { participant: user })
        assert.deepEqual(await bp.listParticipants({ id: conversation.id }), { participants: [user], meta: {} })
        assert.deepEqual(await bp.list.participants({ id: conversation.id }).collect(), [user])
        assert.deepEqual(await bp.removeParticipant({ id: conversation.id, userId: user.id }), {})
        await rejectsAs(bp.getParticipant({ id: conversation.id, userId: user.id }), ResourceNotFoundError, user.id)
      })
    })

    describe('users', () => {
      it('a user keeps its name and picture, is updated, found by tags, listed and deleted', async () => {
        const { user } = await bp.createUser({ tags: { email: 'ann@example.com' }, name: 'Ann', pictureUrl: 'https://example.com/a.png' })
        assert.equal(user.name, 'Ann')
        assert.equal(user.pictureUrl, 'https://example.com/a.png')
        assert.deepEqual((await bp.getUser({ id: user.id })).user, user)
        const { user: renamed } = await bp.updateUser({ id: user.id, name: 'Annie', pictureUrl: null, tags: { plan: 'pro' } })
        assert.equal(renamed.name, 'Annie')
        assert.ok(!('pictureUrl' in renamed))
        assert.deepEqual(renamed.tags, { email: 'ann@example.com', plan: 'pro' })
        assert.deepEqual(await bp.getOrCreateUser({ tags: { email: 'ann@example.com' }, discriminateByTags: ['email'] }), { user: renamed, meta: { created: false } })
        assert.deepEqual((await bp.listUsers({ tags: { plan: 'pro' } })).users, [renamed])
        assert.deepEqual(await bp.list.users({}).collect(), [renamed])
        assert.deepEqual(await bp.deleteUser({ id: user.id }), {})
        await rejectsAs(bp.getUser({ id: user.id }), ResourceNotFoundError, user.id)
      })

      it('ids with a slash, a dot-dot or a space reach the call decoded, segment by segment, never normalised', async () => {
        for (const id of ['a/b', '..', 'x y', '%2F']) await local.createUser({ id, tags: {} })
        for (const id of ['a/b', 'x y', '%2F']) assert.equal((await bp.getUser({ id })).user.id, id)
        // The official client (through WHATWG URL) would fold `..` itself: sent raw, it is an id like any other.
        const dotdot = await raw(url, 'GET', '/v1/chat/users/..', { 'x-bot-id': BOT })
        assert.equal(dotdot.status, 200)
        assert.equal(dotdot.body.user.id, '..')
      })
    })

    describe('messages', () => {
      it('a message is created with tags, fetched, listed by conversation and tag, updated, got-or-created and deleted', async () => {
        const { conversation } = await bp.createConversation({ channel: 'web', tags: {} })
        const { user } = await bp.createUser({ tags: {} })
        const { message } = await bp.createMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: { text: 'hi' }, tags: { lang: 'en' } })
        assert.equal(message.direction, 'incoming')
        clock.advance(1000)
        const { message: reply } = await bp.createMessage({ conversationId: conversation.id, userId: BOT, type: 'text', payload: { text: 'hello' }, tags: {} })
        assert.equal(reply.direction, 'outgoing')
        assert.deepEqual((await bp.getMessage({ id: message.id })).message, message)
        assert.deepEqual((await bp.listMessages({ conversationId: conversation.id })).messages, [reply, message])
        assert.deepEqual((await bp.listMessages({ tags: { lang: 'en' } })).messages, [message])
        assert.deepEqual((await bp.list.messages({ conversationId: conversation.id }).collect()).map((m) => m.id), [reply.id, message.id])

        const { message: edited } = await bp.updateMessage({ id: message.id, tags: { lang: null, seen: 'yes' }, payload: { text: 'hi!' } })
        assert.deepEqual(edited.tags, { seen: 'yes' })
        assert.deepEqual(edited.payload, { text: 'hi!' })

        const found = await bp.getOrCreateMessage({ conversationId: conversation.id, userId: user.id, type: 'text', tags: { seen: 'yes' } })
        assert.deepEqual(found, { message: edited, meta: { created: false } })
        const made = await bp.getOrCreateMessage({ conversationId: conversation.id, userId: BOT, type: 'text', payload: { text: 'once' }, tags: { key: 'k1' } })
        assert.equal(made.meta.created, true)
        assert.deepEqual(await bp.getOrCreateMessage({ conversationId: conversation.id, userId: BOT, type: 'text', payload: { text: 'twice' }, tags: { key: 'k1' } }), {
          message: made.message,
          meta: { created: false },
        })

        assert.deepEqual(await bp.deleteMessage({ id: message.id }), {})
        await rejectsAs(bp.getMessage({ id: message.id }), ResourceNotFoundError, message.id)
      })

      it('a message without tags is InvalidPayload naming tags, as Botpress, and nothing is stored', async () => {
        const { conversation } = await bp.createConversation({ channel: 'web', tags: {} })
        const input = { conversationId: conversation.id, userId: BOT, type: 'text', payload: { text: 'hi' } }
        await rejectsAs(bp.createMessage(input as unknown as Parameters<BotpressClient['createMessage']>[0]), InvalidPayloadError, 'tags')
        assert.deepEqual((await bp.listMessages({ conversationId: conversation.id })).messages, [])
      })
    })

    describe('events', () => {
      it('an event is created, fetched and listed; a scheduled one waits, and once cancelled leaves the due index', async () => {
        const { conversation } = await bp.createConversation({ channel: 'web', tags: {} })
        const { event } = await bp.createEvent({ type: 'tick', payload: { n: 1 }, conversationId: conversation.id })
        assert.equal(event.status, 'pending')
        assert.deepEqual((await bp.getEvent({ id: event.id })).event, event)
        const { event: later } = await bp.createEvent({ type: 'reminder', payload: {}, schedule: { delay: 5 * MINUTE } })
        assert.equal(later.status, 'scheduled')
        assert.equal((await store.keys(layout.events.dueRange())).length, 1)
        assert.deepEqual((await bp.listEvents({ type: 'tick' })).events, [event])
        assert.deepEqual((await bp.listEvents({ status: 'scheduled' })).events, [later])

        assert.deepEqual(await bp.cancelScheduledEvent({ id: later.id }), {})
        assert.equal((await bp.getEvent({ id: later.id })).event.status, 'canceled')
        assert.deepEqual(await store.keys(layout.events.dueRange()), [])
        await rejectsAs(bp.cancelScheduledEvent({ id: event.id }), InvalidPayloadError, 'not scheduled')
        await rejectsAs(bp.cancelScheduledEvent({ id: 'evt_nope' }), ResourceNotFoundError, 'evt_nope')
      })
    })

    describe('states', () => {
      it('a state carries the bot and its owner, its expiry in ms; setStateExpiry restarts and clears it; payload null deletes', async () => {
        const { conversation } = await bp.createConversation({ channel: 'web', tags: {} })
        const address = { type: 'conversation' as const, id: conversation.id, name: 'session' }
        const { state } = await bp.setState({ ...address, payload: { step: 1 }, expiry: 10 * MINUTE })
        assert.equal(state.id, conversation.id)
        assert.equal(state.botId, BOT)
        assert.equal(state.conversationId, conversation.id)
        assert.equal(state.userId, undefined)
        assert.equal(state.expiry, 10 * MINUTE)
        assert.equal(state.expiresAt, new Date(START + 10 * MINUTE).toISOString())
        assert.deepEqual(await bp.getState(address), { state, meta: { cached: false } })
        assert.deepEqual((await bp.getOrSetState({ ...address, payload: { step: 0 } })).meta, { cached: true })
        const { state: patched } = await bp.patchState({ ...address, payload: { done: false } })
        assert.deepEqual(patched.payload, { step: 1, done: false })

        clock.advance(MINUTE)
        const { state: shorter } = await bp.setStateExpiry({ ...address, expiry: 30_000 })
        assert.equal(shorter.expiry, 30_000)
        assert.equal(shorter.expiresAt, new Date(START + MINUTE + 30_000).toISOString())
        assert.deepEqual(shorter.payload, patched.payload)
        const { state: forever } = await bp.setStateExpiry({ ...address, expiry: null })
        assert.ok(!('expiry' in forever) && !('expiresAt' in forever))

        const { user } = await bp.createUser({ tags: {} })
        const { state: userState } = await bp.setState({ type: 'user', id: user.id, name: 'prefs', payload: { lang: 'en' } })
        assert.equal(userState.userId, user.id)
        assert.equal(userState.conversationId, undefined)

        await bp.setState({ ...address, payload: null })
        await rejectsAs(bp.getState(address), ResourceNotFoundError, 'session')
        await rejectsAs(bp.setStateExpiry({ ...address, expiry: 1000 }), ResourceNotFoundError, 'session')
        await rejectsAs(bp.setState({ ...address, payload: { a: 1 }, expiry: 31 * 24 * 60 * MINUTE }), InvalidPayloadError, 'expiry')
      })
    })

    describe('workflows', () => {
      it('a workflow is created, fetched, listed by status, completed, got-or-created and deleted, and goes with its conversation', async () => {
        const { conversation } = await bp.createConversation({ channel: 'web', tags: {} })
        const { workflow } = await bp.createWorkflow({ name: 'onboarding', status: 'pending', input: { step: 1 }, conversationId: conversation.id, tags: { kind: 'a' } })
        assert.equal(workflow.status, 'pending')
        assert.deepEqual(workflow.input, { step: 1 })
        assert.deepEqual(workflow.output, {})
        assert.equal(workflow.conversationId, conversation.id)
        assert.equal(workflow.timeoutAt, new Date(START + 24 * 60 * MINUTE).toISOString())
        assert.deepEqual((await bp.getWorkflow({ id: workflow.id })).workflow, workflow)

        clock.advance(1000)
        const { workflow: second } = await bp.createWorkflow({ name: 'onboarding', status: 'listening', tags: { kind: 'b' } })
        clock.advance(1000)
        const { workflow: third } = await bp.createWorkflow({ name: 'survey', status: 'in_progress', eventId: 'evt_1', tags: {} })
        const active = await bp.listWorkflows({ statuses: ['pending', 'listening'] })
        assert.deepEqual(active.workflows.map((w) => w.id), [second.id, workflow.id])
        const first = await bp.listWorkflows({ name: 'onboarding', pageSize: 1 } as Parameters<BotpressClient['listWorkflows']>[0])
        assert.deepEqual(first.workflows.map((w) => w.id), [second.id])
        const rest = await bp.listWorkflows({ name: 'onboarding', nextToken: first.meta.nextToken })
        assert.deepEqual(rest, { workflows: [workflow], meta: {} })
        assert.deepEqual((await bp.listWorkflows({ statuses: ['in_progress'] })).workflows, [third])

        clock.advance(1000)
        const { workflow: done } = await bp.updateWorkflow({ id: workflow.id, status: 'completed', output: { ok: true }, tags: { kind: null } })
        assert.equal(done.status, 'completed')
        assert.deepEqual(done.output, { ok: true })
        assert.equal(done.completedAt, new Date(START + 3000).toISOString())
        assert.deepEqual(done.tags, {})

        const found = await bp.getOrCreateWorkflow({ name: 'onboarding', status: 'pending', tags: { kind: 'b' }, discriminateByStatusGroup: 'active' })
        assert.deepEqual(found, { workflow: second, meta: { created: false } })
        const fresh = await bp.getOrCreateWorkflow({ name: 'onboarding', status: 'pending', tags: { kind: 'b' }, discriminateByStatusGroup: 'finished' })
        assert.equal(fresh.meta.created, true)

        assert.deepEqual(await bp.deleteWorkflow({ id: second.id }), {})
        await rejectsAs(bp.getWorkflow({ id: second.id }), ResourceNotFoundError, second.id)
        await bp.deleteConversation({ id: conversation.id })
        await rejectsAs(bp.getWorkflow({ id: workflow.id }), ResourceNotFoundError, workflow.id)
      })
    })

    describe('tag values and analytics', () => {
      it('listTagValues gives each value of a tag once, in order, page by page', async () => {
        for (const plan of ['pro', 'free', 'pro', 'team']) await bp.createConversation({ channel: 'web', tags: { plan } })
        await bp.createUser({ tags: { plan: 'vip' } })
        const first = await bp.listTagValues({ key: 'plan', type: 'conversation', pageSize: 2 })
        assert.deepEqual(first.tags, [{ value: 'free' }, { value: 'pro' }])
        const rest = await bp.listTagValues({ key: 'plan', type: 'conversation', nextToken: first.meta.nextToken })
        assert.deepEqual(rest, { tags: [{ value: 'team' }], meta: {} })
        assert.deepEqual(await bp.listTagValues({ key: 'plan', type: 'user' }), { tags: [{ value: 'vip' }], meta: {} })
        assert.deepEqual(await bp.listTagValues({ key: 'plan', type: 'message' }), { tags: [], meta: {} })
      })

      it('trackAnalytics answers {}', async () => {
        assert.deepEqual(await bp.trackAnalytics({ name: 'signups', count: 2 }), {})
      })
    })

    describe('errors', () => {
      it('a wrong input is InvalidPayloadError, a missing id ResourceNotFoundError, an unknown bot too', async () => {
        await rejectsAs(bp.createConversation({ channel: 'web', tags: { n: 1 as unknown as string } }), InvalidPayloadError, 'tags.n')
        await rejectsAs(bp.listConversations({ sortField: 'name' as 'createdAt' }), InvalidPayloadError, 'sortField')
        await rejectsAs(bp.getConversation({ id: 'conv_nope' }), ResourceNotFoundError, 'conv_nope')
        await rejectsAs(new BotpressClient({ apiUrl: url, botId: 'nobody', token: 'x' }).listUsers({}), ResourceNotFoundError, 'nobody')
      })

      it('an error answers with status = code and the body { id, code, type, message }; an unknown route is 404, a wrong method 405', async () => {
        const bad = await raw(url, 'GET', '/v1/chat/conversations?pageSize=0', { 'x-bot-id': BOT })
        assert.equal(bad.status, 400)
        assert.deepEqual(Object.keys(bad.body).sort(), ['code', 'id', 'message', 'type'])
        assert.equal(bad.body.type, 'InvalidPayload')
        assert.match(bad.body.message, /pageSize/)
        assert.equal((await raw(url, 'GET', '/v1/chat/nothing', { 'x-bot-id': BOT })).status, 404)
        assert.equal((await raw(url, 'PATCH', '/v1/chat/conversations', { 'x-bot-id': BOT })).status, 405)
        assert.equal((await raw(url, 'GET', '/v1/chat/conversations')).body.type, 'InvalidPayload')
      })
    })
  })
}
