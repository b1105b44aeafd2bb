import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { z } from 'zod'
import { createClientContext, finishExpiries, isApiError, unfinishedExpiries, type Client, type StateDefinition } from '../runtime/client/index.ts'
import { decodeKey, key } from '../runtime/store/keys.ts'
import type { Store } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'
import { backends } from './support/backends.ts'
import { dump, testClient } from './support/client.ts'

fc.configureGlobal({ includeErrorInReport: true })

/*
 * A model-based test of the client: a tiny in-memory model of the contract (CONTRACT.md section 4) runs
 * beside the real client over a real store, command by command, and after every command everything the
 * client can show (every get, every paged list walk) must match the model.
 */

// ---------------------------------------------------------------------------------------------
// The small world the commands pick from: ids with separators, lone surrogates and unicode.

const BOT = 'model-bot'
const CONVERSATIONS = ['c1', 'c2', 'c\ud800/:', 'ü€']
const USERS = ['u1', 'u2', '\udc00u']
const WORKFLOWS = ['wf1', 'wf/\uffff']
const NAMES = ['s1', 's\u0000x', 'ttl', 'counter']
const TAG_NAMES = ['k1', 'k\u0000', 'constructor']
const TAG_VALUES = ['v1', 'v\ud800', 'x']

/** Declared states: `ttl` is a user state expiring after 2 s, `counter` a bot state whose payload needs a number `n`. */
const DEFINITIONS: Record<string, StateDefinition> = {
  ttl: { type: 'user', expiry: 2 },
  counter: { type: 'bot', schema: z.object({ n: z.number() }) },
}

type StateType = 'conversation' | 'user' | 'bot' | 'workflow'
const OWNERS: { type: StateType; id: string }[] = [
  ...CONVERSATIONS.map((id) => ({ type: 'conversation' as const, id })),
  ...USERS.map((id) => ({ type: 'user' as const, id })),
  { type: 'bot', id: BOT },
  ...WORKFLOWS.map((id) => ({ type: 'workflow' as const, id })),
]

// ---------------------------------------------------------------------------------------------
// The model.

type Tags = Record<string, string>
type Conversation = { id: string; createdAt: string; updatedAt: string; channel: string; integration: string; tags: Tags }
type User = { id: string; createdAt: string; updatedAt: string; tags: Tags; name?: string }
type Message = {
  id: string
  createdAt: string
  updatedAt: string
  type: string
  payload: Record<string, unknown>
  direction: 'incoming' | 'outgoing'
  userId: string
  conversationId: string
  tags: Tags
}
type State = {
  id: string
  botId: string
  conversationId?: string
  userId?: string
  type: StateType
  name: string
  payload: Record<string, unknown>
  createdAt: string
  updatedAt: string
  expiry?: number
  expiresAt?: string
}

type Workflow = {
  id: string
  name: string
  status: string
  input: Record<string, unknown>
  output: Record<string, unknown>
  conversationId?: string
  userId?: string
  createdAt: string
  updatedAt: string
  completedAt?: string
  timeoutAt: string
  tags: Tags
}

type Model = {
  now: number
  conversations: Map<string, Conversation>
  users: Map<string, User>
  /** Conversation id -> participant ids. */
  members: Map<string, Set<string>>
  messages: Map<string, Message>
  /** Ids of messages that existed once: gets of them must say ResourceNotFound. */
  goneMessages: Set<string>
  /** Stored states, expired ones included, by `stateKey`. */
  states: Map<string, State>
  workflows: Map<string, Workflow>
  goneWorkflows: Set<string>
}

type Real = { client: Client; clock: VirtualClock; store: Store }

const START = Date.UTC(2026, 0, 1)
const iso = (ms: number) => new Date(ms).toISOString()
const stateKey = (type: string, id: string, name: string) => JSON.stringify([type, id, name])
const isLive = (s: State, now: number) => s.expiresAt === undefined || Date.parse(s.expiresAt) > now

/** The order of ids inside an index: LevelDB compares the UTF-8 bytes of the encoded segment. */
const idOrder = (a: string, b: string) => Buffer.compare(Buffer.from(key(a)), Buffer.from(key(b)))
/** Index order: by time, then by id. */
const byTimeThenId = (time: (x: { id: string }) => number) => (a: { id: string }, b: { id: string }) =>
  time(a) - time(b) || idOrder(a.id, b.id)

function clean(tags: Record<string, string | null>, base: Tags = {}): Tags {
  const out = new Map(Object.entries(base))
  for (const [name, value] of Object.entries(tags)) {
    if (value === null || value === '') out.delete(name)
    else out.set(name, value)
  }
  return Object.fromEntries(out)
}

const matches = (tags: Tags, filter: Tags) => Object.entries(filter).every(([n, v]) => Object.hasOwn(tags, n) && tags[n] === v)

function ownerExists(m: Model, type: StateType, id: string) {
  if (type === 'conversation') return m.conversations.has(id)
  if (type === 'user') return m.users.has(id)
  return true
}

/** Whether a payload fails a declared state's type or schema. */
function payloadRefused(type: StateType, name: string, payload: Record<string, unknown>) {
  const definition = DEFINITIONS[name]
  if (!definition) return false
  if (definition.type !== type) return true
  return name === 'counter' && typeof payload.n !== 'number'
}

function writeModelState(
  m: Model,
  a: { type: StateType; id: string; name: string },
  payload: Record<string, unknown>,
  expiry: number | null | undefined,
  live: State | undefined,
): State {
  const seconds = expiry === null ? undefined : (expiry ?? live?.expiry ?? DEFINITIONS[a.name]?.expiry)
  const state: State = { id: a.id, botId: BOT, type: a.type, name: a.name, payload, createdAt: live?.createdAt ?? iso(m.now), updatedAt: iso(m.now) }
  if (a.type === 'conversation') state.conversationId = a.id
  if (a.type === 'user') state.userId = a.id
  if (seconds !== undefined) {
    state.expiry = seconds
    state.expiresAt = iso(m.now + Math.round(seconds * 1000))
  }
  m.states.set(stateKey(a.type, a.id, a.name), state)
  return state
}

function liveState(m: Model, type: StateType, id: string, name: string) {
  const s = m.states.get(stateKey(type, id, name))
  return s && isLive(s, m.now) ? s : undefined
}

// ---------------------------------------------------------------------------------------------
// Comparing the client with the model.

type Outcome<T> = { ok: T } | { error: string }

async function outcome<T>(promise: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: await promise }
  } catch (error) {
    if (isApiError(error)) return { error: error.type }
    throw error
  }
}

/** Runs a call and checks it failed with `error`, or succeeded; returns what it gave. */
async function expectOutcome<T>(what: string, promise: Promise<T>, error: string | undefined): Promise<T | undefined> {
  const got = await outcome(promise)
  if (error !== undefined) {
    assert.deepEqual(got, { error }, what)
    return undefined
  }
  if ('error' in got) assert.fail(`${what}: expected success, got ${got.error}`)
  return got.ok
}

/** Walks every page of a list, checking page sizes; returns all items in order. */
async function walk<T>(limit: number, page: (nextToken: string | undefined) => Promise<{ items: T[]; nextToken?: string }>) {
  const items: T[] = []
  let token: string | undefined
  for (let pages = 0; ; pages++) {
    assert.ok(pages <= 200, 'a walk ends')
    const result = await page(token)
    assert.ok(result.items.length <= limit, `a page holds at most ${limit}`)
    items.push(...result.items)
    if (result.nextToken === undefined) return items
    token = result.nextToken
  }
}

function expectedConversations(
  m: Model,
  f: { tags?: Record<string, string>; participantIds?: string[]; sortField?: 'createdAt' | 'updatedAt'; sortDirection?: 'asc' | 'desc' },
) {
  const field = f.sortField ?? 'createdAt'
  const tags = clean(f.tags ?? {})
  const list = [...m.conversations.values()]
    .filter((c) => matches(c.tags, tags) && (f.participantIds ?? []).every((u) => m.members.get(c.id)?.has(u)))
    .sort(byTimeThenId((c) => Date.parse((c as Conversation)[field])))
  return (f.sortDirection ?? 'desc') === 'desc' ? list.reverse() : list
}

function expectedStates(m: Model, type: StateType, id: string) {
  return [...m.states.values()]
    .filter((s) => s.type === type && s.id === id && isLive(s, m.now))
    .sort((a, b) => idOrder(a.name, b.name))
}

async function listStatesWalk(m: Model, r: Real, type: StateType, id: string, limit: number) {
  const got = await outcome(
    walk(limit, async (nextToken) => {
      const { states, meta } = await r.client.listStates({ type, id, limit, nextToken })
      return { items: states, nextToken: meta.nextToken }
    }),
  )
  const expected = expectedStates(m, type, id)
  // The states of a conversation or user the bot does not have: none, or the owner is not found.
  if ('error' in got) {
    assert.equal(got.error, 'ResourceNotFound', `listStates ${type} ${id}`)
    assert.ok(!ownerExists(m, type, id), `listStates ${type} ${id}: owner exists`)
    assert.deepEqual(expected, [])
  } else assert.deepEqual(got.ok, expected, `listStates ${type} ${JSON.stringify(id)}`)
}

/** Everything the client can show must match the model. */
async function checkAll(m: Model, r: Real) {
  assert.equal(r.clock.now(), m.now)
  for (const id of CONVERSATIONS) {
    const c = m.conversations.get(id)
    const got = await outcome(r.client.getConversation({ id }))
    assert.deepEqual(got, c ? { ok: { conversation: c } } : { error: 'ResourceNotFound' }, `getConversation ${id}`)
    if (c) {
      const participants = await walk(2, async (nextToken) => {
        const { participants, meta } = await r.client.listParticipants({ id, limit: 2, nextToken })
        return { items: participants, nextToken: meta.nextToken }
      })
      const expected = [...(m.members.get(id) ?? [])].sort(idOrder).map((u) => m.users.get(u))
      assert.deepEqual(participants, expected, `listParticipants ${id}`)
      const messages = await walk(3, async (nextToken) => {
        const { messages, meta } = await r.client.listMessages({ conversationId: id, limit: 3, nextToken })
        return { items: messages, nextToken: meta.nextToken }
      })
      const expectedMessages = [...m.messages.values()]
        .filter((x) => x.conversationId === id)
        .sort(byTimeThenId((x) => Date.parse((x as Message).createdAt)))
        .reverse()
      assert.deepEqual(messages, expectedMessages, `listMessages ${id}`)
    }
    for (const userId of USERS) {
      const member = c !== undefined && m.members.get(id)?.has(userId)
      const got = await outcome(r.client.getParticipant({ id, userId }))
      assert.deepEqual(got, member ? { ok: { participant: m.users.get(userId) } } : { error: 'ResourceNotFound' }, `getParticipant ${id} ${userId}`)
    }
  }
  for (const id of USERS) {
    const u = m.users.get(id)
    assert.deepEqual(await outcome(r.client.getUser({ id })), u ? { ok: { user: u } } : { error: 'ResourceNotFound' }, `getUser ${id}`)
  }
  const users = await walk(2, async (nextToken) => {
    const { users, meta } = await r.client.listUsers({ limit: 2, nextToken })
    return { items: users, nextToken: meta.nextToken }
  })
  assert.deepEqual(users, [...m.users.values()].sort(byTimeThenId((u) => Date.parse((u as User).createdAt))).reverse(), 'listUsers')
  for (const [id, message] of m.messages) assert.deepEqual(await r.client.getMessage({ id }), { message }, `getMessage ${id}`)
  for (const id of m.goneMessages) assert.deepEqual(await outcome(r.client.getMessage({ id })), { error: 'ResourceNotFound' })
  for (const [id, workflow] of m.workflows) assert.deepEqual(await r.client.getWorkflow({ id }), { workflow }, `getWorkflow ${id}`)
  for (const id of m.goneWorkflows) assert.deepEqual(await outcome(r.client.getWorkflow({ id })), { error: 'ResourceNotFound' })
  const workflows = await walk(2, async (nextToken) => {
    const { workflows, meta } = await r.client.listWorkflows({ limit: 2, nextToken })
    return { items: workflows, nextToken: meta.nextToken }
  })
  assert.deepEqual(workflows, [...m.workflows.values()].sort(byTimeThenId((w) => Date.parse((w as Workflow).createdAt))).reverse(), 'listWorkflows')
  for (const owner of OWNERS) {
    for (const name of NAMES) {
      const live = liveState(m, owner.type, owner.id, name)
      const got = await outcome(r.client.getState({ ...owner, name }))
      if (live) assert.deepEqual(got, { ok: { state: live, meta: { cached: false } } }, `getState ${owner.type} ${owner.id} ${name}`)
      else assert.deepEqual(got, { error: 'ResourceNotFound' }, `getState ${owner.type} ${owner.id} ${name}`)
    }
  }
}

/** After a cascade, no key and no record in the store names the deleted id. */
async function assertNothingNames(r: Real, id: string, fields: string[]) {
  for (const [k, value] of await dump(r.store)) {
    assert.ok(!decodeKey(k).includes(id), `key ${JSON.stringify(decodeKey(k))} still holds ${JSON.stringify(id)}`)
    if (value === '') continue
    const record = JSON.parse(value) as Record<string, unknown>
    for (const field of fields) assert.notEqual(record[field], id, `a record's ${field} still holds ${JSON.stringify(id)}`)
  }
}

/** Creating an existing id either says AlreadyExists or hands back the record untouched; it never overwrites. */
function assertKeptExisting<T>(got: Outcome<T>, existing: T, what: string) {
  if ('error' in got) assert.equal(got.error, 'AlreadyExists', what)
  else assert.deepEqual(got.ok, existing, what)
}

// ---------------------------------------------------------------------------------------------
// Operations: each runs the real call, checks it against the model's prediction, and moves the model.

async function createConversation(m: Model, r: Real, id: string, tags: Record<string, string>) {
  const existing = m.conversations.get(id)
  const got = await outcome(r.client.createConversation({ id, tags }))
  if (existing) return assertKeptExisting(got, { conversation: existing }, 'createConversation of an existing id')
  if ('error' in got) return assert.fail(`createConversation: ${got.error}`)
  const conversation: Conversation = { id, createdAt: iso(m.now), updatedAt: iso(m.now), channel: 'channel', integration: 'chat', tags: clean(tags) }
  assert.deepEqual(got.ok, { conversation })
  m.conversations.set(id, conversation)
  m.members.set(id, new Set())
}

async function updateConversation(m: Model, r: Real, id: string, tags: Record<string, string | null>) {
  const before = m.conversations.get(id)
  const got = await expectOutcome('updateConversation', r.client.updateConversation({ id, tags }), before ? undefined : 'ResourceNotFound')
  if (!before) return
  const after = { ...before, tags: clean(tags, before.tags), updatedAt: iso(m.now) }
  assert.deepEqual(got, { conversation: after })
  m.conversations.set(id, after)
}

async function deleteConversation(m: Model, r: Real, id: string) {
  const exists = m.conversations.has(id)
  await expectOutcome('deleteConversation', r.client.deleteConversation({ id }), exists ? undefined : 'ResourceNotFound')
  if (!exists) return
  m.conversations.delete(id)
  m.members.delete(id)
  for (const [messageId, message] of m.messages)
    if (message.conversationId === id) {
      m.messages.delete(messageId)
      m.goneMessages.add(messageId)
    }
  for (const [k, s] of m.states) if (s.type === 'conversation' && s.id === id) m.states.delete(k)
  forgetWorkflows(m, (w) => w.conversationId === id)
  await assertNothingNames(r, id, ['id', 'conversationId'])
}

/** A cascade took these workflows. */
function forgetWorkflows(m: Model, taken: (w: Workflow) => boolean) {
  for (const [id, w] of m.workflows)
    if (taken(w)) {
      m.workflows.delete(id)
      m.goneWorkflows.add(id)
    }
}

/** The values of a tag on a kind of record, as listTagValues gives them: each once, in index order. */
function expectedTagValues(m: Model, type: 'conversation' | 'user' | 'message', name: string) {
  const records: { tags: Tags }[] = [...(type === 'conversation' ? m.conversations : type === 'user' ? m.users : m.messages).values()]
  const values = new Set(records.filter((x) => Object.hasOwn(x.tags, name)).map((x) => x.tags[name]!))
  return [...values].sort(idOrder).map((value) => ({ value }))
}

async function createUser(m: Model, r: Real, id: string, tags: Record<string, string>, name: string | undefined) {
  const existing = m.users.get(id)
  const got = await outcome(r.client.createUser(name === undefined ? { id, tags } : { id, tags, name }))
  if (existing) return assertKeptExisting(got, { user: existing }, 'createUser of an existing id')
  if ('error' in got) return assert.fail(`createUser: ${got.error}`)
  const user: User = { id, createdAt: iso(m.now), updatedAt: iso(m.now), tags: clean(tags) }
  if (name !== undefined) user.name = name
  assert.deepEqual(got.ok, { user })
  m.users.set(id, user)
}

async function updateUser(m: Model, r: Real, id: string, tags: Record<string, string | null>, name: string | null | undefined) {
  const before = m.users.get(id)
  const input = name === undefined ? { id, tags } : { id, tags, name }
  const got = await expectOutcome('updateUser', r.client.updateUser(input), before ? undefined : 'ResourceNotFound')
  if (!before) return
  const after: User = { ...before, tags: clean(tags, before.tags), updatedAt: iso(m.now) }
  if (name === null) delete after.name
  else if (name !== undefined) after.name = name
  assert.deepEqual(got, { user: after })
  m.users.set(id, after)
}

async function deleteUser(m: Model, r: Real, id: string) {
  const exists = m.users.has(id)
  await expectOutcome('deleteUser', r.client.deleteUser({ id }), exists ? undefined : 'ResourceNotFound')
  if (!exists) return
  m.users.delete(id)
  for (const members of m.members.values()) members.delete(id)
  for (const [messageId, message] of m.messages)
    if (message.userId === id) {
      m.messages.delete(messageId)
      m.goneMessages.add(messageId)
    }
  for (const [k, s] of m.states) if (s.type === 'user' && s.id === id) m.states.delete(k)
  forgetWorkflows(m, (w) => w.userId === id)
  await assertNothingNames(r, id, ['id', 'userId'])
}

// ---------------------------------------------------------------------------------------------
// Commands.

function command(label: string, run: (m: Model, r: Real) => Promise<void>): fc.AsyncCommand<Model, Real> {
  return {
    check: () => true,
    async run(m, r) {
      await run(m, r)
      await checkAll(m, r)
    },
    toString: () => label,
  }
}

const show = (...args: unknown[]) => args.map((a) => (a === undefined ? 'undefined' : JSON.stringify(a))).join(', ')

const conversationId = fc.constantFrom(...CONVERSATIONS)
const userId = fc.constantFrom(...USERS)
const tags = fc.dictionary(fc.constantFrom(...TAG_NAMES), fc.constantFrom(...TAG_VALUES, ''), { maxKeys: 3, noNullPrototype: true })
const tagsPatch = fc.dictionary(fc.constantFrom(...TAG_NAMES), fc.constantFrom<string | null>(...TAG_VALUES, '', null), {
  maxKeys: 3,
  noNullPrototype: true,
})
const payload = fc
  .oneof(
    fc.record({ n: fc.integer({ min: -5, max: 5 }) }),
    fc.record({ s: fc.string({ maxLength: 4 }) }),
    fc.record({ n: fc.integer({ min: -5, max: 5 }), s: fc.string({ maxLength: 4 }) }),
  )
  .map((p) => JSON.parse(JSON.stringify(p)) as Record<string, unknown>)
const expiry = fc.constantFrom<number | null | undefined>(undefined, undefined, null, 0.5, 1, 1.5, 3)
const address = fc.record({ owner: fc.constantFrom(...OWNERS), name: fc.constantFrom(...NAMES) })
const limit = fc.integer({ min: 1, max: 4 })

type Write = { kind: 'create' | 'update' | 'delete'; id: string; tags: Record<string, string> }
const write = fc.record({ kind: fc.constantFrom<Write['kind']>('create', 'create', 'update', 'delete'), id: conversationId, tags })

/** Creating commands come up more often, so that the world fills up before it is taken apart. */
const often = <T>(arb: T) => [arb, arb, arb]

const commandArbs = [
  ...often(fc.tuple(conversationId, tags).map(([id, t]) =>
    command(`createConversation(${show(id, t)})`, (m, r) => createConversation(m, r, id, t)),
  )),
  fc.tuple(conversationId, tagsPatch).map(([id, t]) =>
    command(`updateConversation(${show(id, t)})`, (m, r) => updateConversation(m, r, id, t)),
  ),
  conversationId.map((id) => command(`deleteConversation(${show(id)})`, (m, r) => deleteConversation(m, r, id))),
  ...often(fc.tuple(userId, tags, fc.option(fc.string({ maxLength: 3 }), { nil: undefined })).map(([id, t, name]) =>
    command(`createUser(${show(id, t, name)})`, (m, r) => createUser(m, r, id, t, name)),
  )),
  fc.tuple(userId, tagsPatch, fc.constantFrom<string | null | undefined>('Ann', 'Bo\ud800', null, undefined)).map(([id, t, name]) =>
    command(`updateUser(${show(id, t, name)})`, (m, r) => updateUser(m, r, id, t, name)),
  ),
  userId.map((id) => command(`deleteUser(${show(id)})`, (m, r) => deleteUser(m, r, id))),

  ...often(fc.tuple(conversationId, userId).map(([id, user]) =>
    command(`addParticipant(${show(id, user)})`, async (m, r) => {
      const error = !m.conversations.has(id) || !m.users.has(user) ? 'ResourceNotFound' : undefined
      const got = await expectOutcome('addParticipant', r.client.addParticipant({ id, userId: user }), error)
      if (error) return
      assert.deepEqual(got, { participant: m.users.get(user) })
      m.members.get(id)!.add(user)
    }),
  )),
  fc.tuple(conversationId, userId).map(([id, user]) =>
    command(`removeParticipant(${show(id, user)})`, async (m, r) => {
      const member = m.conversations.has(id) && m.members.get(id)!.has(user)
      await expectOutcome('removeParticipant', r.client.removeParticipant({ id, userId: user }), member ? undefined : 'ResourceNotFound')
      if (member) m.members.get(id)!.delete(user)
    }),
  ),

  ...often(fc.tuple(conversationId, fc.constantFrom(...USERS, BOT), payload, tags).map(([id, user, p, t]) =>
    command(`createMessage(${show(id, user, p, t)})`, async (m, r) => {
      const error = !m.conversations.has(id) || (user !== BOT && !m.users.has(user)) ? 'ResourceNotFound' : undefined
      const got = await expectOutcome(
        'createMessage',
        r.client.createMessage({ conversationId: id, userId: user, type: 'text', payload: p, tags: t }),
        error,
      )
      if (!got) return
      const messageId = got.message.id
      assert.ok(!m.messages.has(messageId) && !m.goneMessages.has(messageId), 'a new message has a new id')
      const message: Message = {
        id: messageId,
        createdAt: iso(m.now),
        updatedAt: iso(m.now),
        type: 'text',
        payload: p,
        direction: user === BOT ? 'outgoing' : 'incoming',
        userId: user,
        conversationId: id,
        tags: clean(t),
      }
      assert.deepEqual(got, { message })
      m.messages.set(messageId, message)
    }),
  )),
  fc.nat().map((n) =>
    command(`deleteMessage(#${n})`, async (m, r) => {
      const ids = [...m.messages.keys(), ...m.goneMessages, 'msg_unknown']
      const id = ids[n % ids.length]!
      const exists = m.messages.has(id)
      await expectOutcome('deleteMessage', r.client.deleteMessage({ id }), exists ? undefined : 'ResourceNotFound')
      if (exists) {
        m.messages.delete(id)
        m.goneMessages.add(id)
      }
    }),
  ),

  ...often(fc.tuple(address, fc.option(payload, { nil: null, freq: 5 }), expiry).map(([{ owner, name }, p, e]) =>
    command(`setState(${show(owner, name, p, e)})`, async (m, r) => {
      const a = { ...owner, name }
      const input = e === undefined ? { ...a, payload: p } : { ...a, payload: p, expiry: e }
      if (p === null) {
        const error = ownerExists(m, a.type, a.id) ? undefined : 'ResourceNotFound'
        const got = await expectOutcome('setState null', r.client.setState(input), error)
        if (!error) {
          assert.deepEqual(got, {})
          m.states.delete(stateKey(a.type, a.id, name))
        }
        return
      }
      const error = payloadRefused(a.type, name, p) ? 'InvalidPayload' : ownerExists(m, a.type, a.id) ? undefined : 'ResourceNotFound'
      const got = await expectOutcome('setState', r.client.setState(input), error)
      if (error) return
      const state = writeModelState(m, a, p, e, liveState(m, a.type, a.id, name))
      assert.deepEqual(got, { state })
    }),
  )),
  fc.tuple(address, payload, expiry).map(([{ owner, name }, p, e]) =>
    command(`getOrSetState(${show(owner, name, p, e)})`, async (m, r) => {
      const a = { ...owner, name }
      const input = e === undefined ? { ...a, payload: p } : { ...a, payload: p, expiry: e }
      const error = payloadRefused(a.type, name, p) ? 'InvalidPayload' : ownerExists(m, a.type, a.id) ? undefined : 'ResourceNotFound'
      const got = await expectOutcome('getOrSetState', r.client.getOrSetState(input), error)
      if (error) return
      const live = liveState(m, a.type, a.id, name)
      if (live) return assert.deepEqual(got, { state: live, meta: { cached: true } })
      const state = writeModelState(m, a, p, e, undefined)
      assert.deepEqual(got, { state, meta: { cached: false } })
    }),
  ),
  fc.tuple(address, payload, expiry).map(([{ owner, name }, p, e]) =>
    command(`patchState(${show(owner, name, p, e)})`, async (m, r) => {
      const a = { ...owner, name }
      const input = e === undefined ? { ...a, payload: p } : { ...a, payload: p, expiry: e }
      const live = liveState(m, a.type, a.id, name)
      const merged = { ...live?.payload, ...p }
      const error = !ownerExists(m, a.type, a.id) || !live ? 'ResourceNotFound' : payloadRefused(a.type, name, merged) ? 'InvalidPayload' : undefined
      const got = await expectOutcome('patchState', r.client.patchState(input), error)
      if (error) return
      const state = writeModelState(m, a, merged, e, live)
      assert.deepEqual(got, { state })
    }),
  ),
  address.map(({ owner, name }) =>
    command(`deleteState(${show(owner, name)})`, async (m, r) => {
      const error = ownerExists(m, owner.type, owner.id) ? undefined : 'ResourceNotFound'
      const got = await expectOutcome('deleteState', r.client.deleteState({ ...owner, name }), error)
      if (error) return
      assert.deepEqual(got, {})
      m.states.delete(stateKey(owner.type, owner.id, name))
    }),
  ),

  ...often(
    fc
      .record({
        name: fc.constantFrom('w1', 'w\u0000'),
        status: fc.constantFrom<'pending' | 'listening'>('pending', 'listening'),
        conversationId: fc.option(conversationId, { nil: undefined }),
        userId: fc.option(userId, { nil: undefined }),
        tags,
      })
      .map((w) =>
        command(`createWorkflow(${show(w)})`, async (m, r) => {
          const input = Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)) as typeof w
          const missing = (w.conversationId !== undefined && !m.conversations.has(w.conversationId)) || (w.userId !== undefined && !m.users.has(w.userId))
          const got = await expectOutcome('createWorkflow', r.client.createWorkflow(input), missing ? 'ResourceNotFound' : undefined)
          if (!got) return
          const workflow: Workflow = {
            id: got.workflow.id,
            name: w.name,
            status: w.status,
            input: {},
            output: {},
            createdAt: iso(m.now),
            updatedAt: iso(m.now),
            timeoutAt: iso(m.now + 24 * 3600 * 1000),
            tags: clean(w.tags),
          }
          if (w.conversationId !== undefined) workflow.conversationId = w.conversationId
          if (w.userId !== undefined) workflow.userId = w.userId
          assert.ok(!m.workflows.has(workflow.id) && !m.goneWorkflows.has(workflow.id), 'a new workflow has a new id')
          assert.deepEqual(got, { workflow })
          m.workflows.set(workflow.id, workflow)
        }),
      ),
  ),
  fc.tuple(fc.nat(), fc.constantFrom<'listening' | 'paused' | 'completed' | 'failed' | 'cancelled'>('listening', 'paused', 'completed', 'failed', 'cancelled'), tagsPatch).map(([n, status, t]) =>
    command(`updateWorkflow(#${n}, ${show(status, t)})`, async (m, r) => {
      const ids = [...m.workflows.keys(), ...m.goneWorkflows, 'wf_unknown']
      const id = ids[n % ids.length]!
      const before = m.workflows.get(id)
      const got = await expectOutcome('updateWorkflow', r.client.updateWorkflow({ id, status, tags: t }), before ? undefined : 'ResourceNotFound')
      if (!before) return
      const after: Workflow = { ...before, status, tags: clean(t, before.tags), updatedAt: iso(m.now) }
      const finished = (s: string) => ['completed', 'failed', 'cancelled', 'timedout'].includes(s)
      if (!finished(status)) delete after.completedAt
      else if (!finished(before.status)) after.completedAt = iso(m.now)
      assert.deepEqual(got, { workflow: after })
      m.workflows.set(id, after)
    }),
  ),
  fc.nat().map((n) =>
    command(`deleteWorkflow(#${n})`, async (m, r) => {
      const ids = [...m.workflows.keys(), ...m.goneWorkflows, 'wf_unknown']
      const id = ids[n % ids.length]!
      const exists = m.workflows.has(id)
      await expectOutcome('deleteWorkflow', r.client.deleteWorkflow({ id }), exists ? undefined : 'ResourceNotFound')
      forgetWorkflows(m, (w) => w.id === id)
    }),
  ),
  fc.tuple(fc.constantFrom<'conversation' | 'user' | 'message'>('conversation', 'user', 'message'), fc.constantFrom(...TAG_NAMES), limit).map(([type, name, l]) =>
    command(`listTagValues(${show(type, name, l)})`, async (m, r) => {
      const got = await walk(l, async (nextToken) => {
        const { tags, meta } = await r.client.listTagValues({ key: name, type, pageSize: l, nextToken })
        return { items: tags, nextToken: meta.nextToken }
      })
      assert.deepEqual(got, expectedTagValues(m, type, name))
    }),
  ),

  // Steps that land exactly on expiries (0.5 s, 1 s, 1.5 s, 2 s, 3 s) and just before or after them.
  ...often(
    fc.oneof(fc.constantFrom(0, 1, 499, 500, 500, 999, 1000, 1000, 1001, 1500, 2000, 3000), fc.integer({ min: 0, max: 4000 })).map((ms) =>
      command(`advance(${ms})`, async (m, r) => {
        r.clock.advance(ms)
        m.now += ms
      }),
    ),
  ),

  fc
    .record({
      limit,
      tags: fc.option(fc.dictionary(fc.constantFrom(...TAG_NAMES), fc.constantFrom(...TAG_VALUES), { maxKeys: 2, noNullPrototype: true }), { nil: undefined }),
      participantIds: fc.option(fc.subarray(USERS, { maxLength: 2 }), { nil: undefined }),
      sortField: fc.constantFrom<'createdAt' | 'updatedAt' | undefined>('createdAt', 'updatedAt', undefined),
      sortDirection: fc.constantFrom<'asc' | 'desc' | undefined>('asc', 'desc', undefined),
    })
    .map((filter) =>
      command(`listConversations(${show(filter)})`, async (m, r) => {
        const input = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as typeof filter
        const got = await walk(filter.limit, async (nextToken) => {
          const { conversations, meta } = await r.client.listConversations({ ...input, nextToken })
          return { items: conversations, nextToken: meta.nextToken }
        })
        assert.deepEqual(got, expectedConversations(m, filter))
      }),
    ),
  fc.tuple(fc.constantFrom(...OWNERS), limit).map(([owner, l]) =>
    command(`listStates(${show(owner, l)})`, (m, r) => listStatesWalk(m, r, owner.type, owner.id, l)),
  ),

  // Paging while writing: records that exist throughout a walk are listed exactly once.
  fc
    .tuple(limit, fc.constantFrom<'asc' | 'desc'>('asc', 'desc'), fc.array(write, { minLength: 1, maxLength: 6 }))
    .map(([l, sortDirection, writes]) =>
      command(`listConversations while writing(${show(l, sortDirection, writes)})`, async (m, r) => {
        const throughout = new Set(m.conversations.keys())
        const seen: string[] = []
        let token: string | undefined
        let pending = [...writes]
        for (let pages = 0; pages <= 200; pages++) {
          const { conversations, meta } = await r.client.listConversations({ limit: l, sortField: 'createdAt', sortDirection, nextToken: token })
          seen.push(...conversations.map((c) => c.id))
          token = meta.nextToken
          if (token === undefined) break
          const w = pending.shift()
          if (!w) continue
          if (w.kind === 'create') await createConversation(m, r, w.id, w.tags)
          else if (w.kind === 'update') await updateConversation(m, r, w.id, w.tags)
          else {
            await deleteConversation(m, r, w.id)
            throughout.delete(w.id)
          }
        }
        assert.equal(token, undefined, 'the walk ended')
        assert.equal(new Set(seen).size, seen.length, `no conversation listed twice: ${show(seen)}`)
        for (const id of throughout) assert.ok(seen.includes(id), `${JSON.stringify(id)} existed throughout and was listed`)
        pending = []
      }),
    ),
]

// ---------------------------------------------------------------------------------------------

for (const backend of backends) {
  describe(`the client behaves as the model on ${backend.name}`, { skip: backend.skip }, () => {
    test('any sequence of calls, with the clock moving, shows what the model predicts; deleting everything leaves nothing', async () => {
      await fc.assert(
        fc.asyncProperty(fc.commands(commandArbs, { maxCommands: 50, size: 'large' }), async (cmds) => {
          const { store, close } = await backend.open()
          try {
            const clock = new VirtualClock(START)
            const { client } = testClient(store, { botId: BOT, clock, states: DEFINITIONS })
            const model: Model = {
              now: START,
              conversations: new Map(),
              users: new Map(),
              members: new Map(),
              messages: new Map(),
              goneMessages: new Set(),
              states: new Map(),
              workflows: new Map(),
              goneWorkflows: new Set(),
            }
            const real: Real = { client, clock, store }
            await fc.asyncModelRun(() => ({ model, real }), cmds)

            // Deleting every record, with its cascade, leaves not one key behind.
            for (const id of [...model.conversations.keys()]) await deleteConversation(model, real, id)
            for (const id of [...model.users.keys()]) await deleteUser(model, real, id)
            for (const id of [...model.workflows.keys()]) await client.deleteWorkflow({ id })
            for (const owner of OWNERS.filter((o) => o.type === 'bot' || o.type === 'workflow'))
              for (const name of NAMES) await client.deleteState({ ...owner, name })
            // A bot or workflow state deleted after it expired owes its stateExpired handlers: once they ran (as
            // the dispatcher would), nothing is left.
            const ctx = createClientContext({ store, botId: BOT, clock })
            await finishExpiries(ctx, await unfinishedExpiries(ctx))
            assert.deepEqual(await dump(store), [])
          } finally {
            await close()
          }
        }),
        { numRuns: 40 },
      )
    })
  })
}
