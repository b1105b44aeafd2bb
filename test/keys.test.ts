import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { isApiError, type Client } from '../runtime/client/index.ts'
import { childrenOf, decodeKey, inRange, key, keyUnder, parseTimeSegment, timeSegment } from '../runtime/store/keys.ts'
import type { Store } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'
import { backends } from './support/backends.ts'
import { dump, testClient } from './support/client.ts'

fc.configureGlobal({ includeErrorInReport: true })

// ---------------------------------------------------------------------------------------------
// Adversarial strings: the separators and escape characters, bytes that are special in UTF-8,
// lone surrogates, astral characters, any UTF-16 unit, any code point, and very long strings.

const trickyUnits = [
  '\u0000', '\u0001', '\u0002', '\u0003', '\u007f', '\u0080', '\xff', '\ud800', '\udbff', '\udc00', '\udfff',
  '\ud83d\ude00', '\uffff', '\ufffd', '\ufeff', 'a', 'b', '0', '/', ':', '\\', '%', ' ',
]

/** Any UTF-16 code unit: lone surrogates included. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))

const unit = fc.oneof(
  { arbitrary: fc.constantFrom(...trickyUnits), weight: 5 },
  { arbitrary: anyCodeUnit, weight: 3 },
  { arbitrary: loneSurrogate, weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 2 },
)

/** Short tricky strings mostly, sometimes thousands of units long. */
function adversarial({ minLength = 0, maxLength = 10_000, unit: u = unit } = {}) {
  return fc.oneof(
    { arbitrary: fc.string({ unit: u, minLength, maxLength: Math.min(maxLength, 24) }), weight: 12 },
    { arbitrary: fc.string({ unit: u, minLength: Math.max(minLength, maxLength >> 2), maxLength, size: 'max' }), weight: 1 },
  )
}

const segment = adversarial()
const segments = fc.array(segment, { minLength: 1, maxLength: 6 })

/** Whether `k` is in range when compared as LevelDB compares: bytes of UTF-8. */
function inRangeAsBytes(k: string, range: { gt: string; lt: string }) {
  const bytes = Buffer.from(k, 'utf8')
  return Buffer.compare(bytes, Buffer.from(range.gt, 'utf8')) > 0 && Buffer.compare(bytes, Buffer.from(range.lt, 'utf8')) < 0
}

const startsWith = (segs: string[], prefix: string[]) =>
  segs.length >= prefix.length && prefix.every((s, i) => segs[i] === s)

/** Segment lists close to `prefix`: its children, itself, near misses that share characters, and strangers. */
function nearPrefix(prefix: string[]) {
  const last = prefix.at(-1)!
  const init = prefix.slice(0, -1)
  return fc.oneof(
    fc.array(segment, { minLength: 1, maxLength: 3 }).map((rest) => [...prefix, ...rest]),
    fc.constant(prefix),
    fc.tuple(fc.constantFrom('\u0000', '\u0001', '\u0002', '\xff', '\ud800', 'x'), fc.array(segment, { maxLength: 2 })).map(
      ([extra, rest]) => [...init, last + extra, ...rest],
    ),
    fc.array(segment, { maxLength: 2 }).map((rest) => [...init, last.slice(0, -1), ...rest]),
    fc.array(segment, { maxLength: 2 }).map((rest) => [...init, ...last.split('\u0000'), ...rest]),
    fc.array(segment, { maxLength: 2 }).map((rest) => [...init.slice(0, -1), ...rest]),
    segments,
  )
}

describe('keys: segment lists as LevelDB keys', () => {
  test('every list of segments decodes back to itself and stays well-formed UTF-8', () => {
    fc.assert(
      fc.property(segments, (segs) => {
        const k = key(...segs)
        assert.deepEqual(decodeKey(k), segs)
        // Stored as UTF-8: a lone surrogate would collapse to U+FFFD and two ids would share a key.
        assert.equal(Buffer.from(k, 'utf8').toString('utf8'), k)
      }),
      { numRuns: 500 },
    )
  })

  test('a key made under an encoded prefix is the key of the whole list', () => {
    fc.assert(
      fc.property(segments.filter((s) => s.length > 0), segments, (head, rest) => {
        assert.equal(keyUnder(key(...head), ...rest), key(...head, ...rest))
      }),
      { numRuns: 500 },
    )
  })

  test('two different segment lists never share a key', () => {
    const splits = fc
      .tuple(adversarial({ maxLength: 40 }), fc.array(fc.nat(), { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 4 }))
      .map(([text, cutsA, cutsB]) => {
        const cut = (cuts: number[]) => {
          const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((x, y) => x - y)
          return [0, ...at].map((from, i) => text.slice(from, at[i] ?? text.length))
        }
        return [cut(cutsA), cut(cutsB)] as const
      })
    const pairs = fc.oneof(
      fc.tuple(segments, segments),
      splits,
      segments.map((segs) => [segs, [segs.join('\u0000')]] as const),
      segments.map((segs) => [segs, segs.join('\u0000').split('\u0001')] as const),
      segments.map((segs) => [segs, segs.map((s) => s.replace(/[\ud800-\udfff]/g, '\ufffd'))] as const),
    )
    fc.assert(
      fc.property(pairs, ([a, b]) => {
        const same = a.length === b.length && a.every((s, i) => s === b[i])
        assert.equal(key(...a) === key(...b), same, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
      }),
      { numRuns: 1000 },
    )
  })

  test('the children range of a prefix holds exactly the keys that start with it, by string and by byte order', () => {
    const cases = segments.filter((p) => p.length <= 3).chain((prefix) => fc.tuple(fc.constant(prefix), nearPrefix(prefix)))
    fc.assert(
      fc.property(cases, ([prefix, segs]) => {
        const range = childrenOf(...prefix)
        const expected = segs.length > prefix.length && startsWith(segs, prefix)
        const k = key(...segs)
        assert.equal(inRange(k, range), expected, `${JSON.stringify(segs)} under ${JSON.stringify(prefix)}`)
        assert.equal(inRangeAsBytes(k, range), expected, `bytes: ${JSON.stringify(segs)} under ${JSON.stringify(prefix)}`)
      }),
      { numRuns: 600 },
    )
  })

  test('time segments sort as the times they hold, and read back', () => {
    const time = fc.oneof(
      fc.integer({ min: 0, max: 10 ** 15 - 1 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.constantFrom(0, 9, 10, 99, 100, 999_999_999_999_999, Date.UTC(2026, 0, 1), Date.UTC(9999, 11, 31)),
    )
    fc.assert(
      fc.property(time, time, segment, segment, (a, b, idA, idB) => {
        const [sa, sb] = [timeSegment(a), timeSegment(b)]
        assert.equal(parseTimeSegment(sa), a)
        assert.equal(Math.sign(sa < sb ? -1 : sa > sb ? 1 : 0), Math.sign(a - b))
        // Inside a key, the time decides the order whatever id follows it (as LevelDB compares bytes).
        if (a !== b) {
          const ka = Buffer.from(key('b', 'bot', 'M', sa, idA))
          const kb = Buffer.from(key('b', 'bot', 'M', sb, idB))
          assert.equal(Math.sign(Buffer.compare(ka, kb)), Math.sign(a - b))
        }
      }),
      { numRuns: 1000 },
    )
  })

  test('a time that cannot keep its place in the order is refused', () => {
    for (const bad of [-1, 0.5, Number.NaN, Infinity, 10 ** 15, Number.MAX_SAFE_INTEGER, 2 ** 53])
      assert.throws(() => timeSegment(bad), RangeError, String(bad))
  })
})

for (const backend of backends) {
  describe(`keys on ${backend.name}`, { skip: backend.skip }, () => {
    let store: Store
    let close: () => Promise<void>
    before(async () => ({ store, close } = await backend.open()))
    after(() => close())

    test('a range scan of a prefix returns exactly the stored keys under it', async () => {
      const cases = segments
        .filter((p) => p.length <= 3)
        .chain((prefix) => fc.tuple(fc.constant(prefix), fc.array(nearPrefix(prefix), { minLength: 1, maxLength: 12 })))
      await fc.assert(
        fc.asyncProperty(cases, async ([prefix, lists]) => {
          await store.clear()
          await store.batch(lists.map((segs) => ({ type: 'put' as const, key: key(...segs), value: '' })))
          const found = (await store.keys(childrenOf(...prefix))).map(decodeKey)
          const expected = lists.filter((segs) => segs.length > prefix.length && startsWith(segs, prefix))
          const asSet = (ls: string[][]) => [...new Set(ls.map((l) => JSON.stringify(l)))].sort()
          assert.deepEqual(asSet(found), asSet(expected))
          assert.equal(found.length, asSet(expected).length)
        }),
        { numRuns: 150 },
      )
    })
  })
}

// ---------------------------------------------------------------------------------------------
// End to end: two bots with adversarial ids share one database and never see each other's data.

/** What the client accepts as an id: 1..200 printable units, yet still tricky. */
const printable = (s: string) => !/[\u0000-\u001f\u007f]/.test(s)
const printableUnit = unit.filter(printable)
const clientId = adversarial({ minLength: 1, maxLength: 200, unit: printableUnit })
const stateName = adversarial({ minLength: 1, maxLength: 200 })
// `__proto__` is refused as a tag name (tested below), so the shared-database property leaves it out.
const tagName = fc
  .oneof(adversarial({ minLength: 1, maxLength: 200 }), fc.constantFrom('constructor', 'toString', 'hasOwnProperty'))
  .filter((name) => name !== '__proto__')
const tagValue = adversarial({ minLength: 1, maxLength: 1000 })
const botId = adversarial({ minLength: 1, maxLength: 300 })

const botPair = botId.chain((a) =>
  fc
    .oneof(
      botId,
      fc.constantFrom('\u0000', '\u0001', '\u0000x', '\u0001\u0001', 'x', '\ud800').map((suffix) => a + suffix),
      fc.constant(a.slice(0, -1)),
      fc.constant(a.replace(/[\ud800-\udfff]/g, '\ufffd')),
    )
    .filter((b) => b !== a && b.length > 0)
    .map((b) => [a, b] as const),
)

const dataset = fc.record({
  conversationId: clientId,
  userId: clientId,
  workflowId: clientId,
  stateName,
  tags: fc.dictionary(tagName, tagValue, { minKeys: 1, maxKeys: 3, noNullPrototype: true }),
})
type Dataset = typeof dataset extends fc.Arbitrary<infer T> ? T : never

async function errorType(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
    return undefined
  } catch (error) {
    if (!isApiError(error)) throw error
    return error.type
  }
}

/** Everything a bot writes through its client, marked with `mark` so readers can tell whose it is. */
async function writeAll(client: Client, d: Dataset, mark: string) {
  await client.createUser({ id: d.userId, tags: d.tags })
  await client.createConversation({ id: d.conversationId, tags: d.tags })
  await client.addParticipant({ id: d.conversationId, userId: d.userId })
  await client.createMessage({ conversationId: d.conversationId, userId: d.userId, type: 'text', payload: { mark }, tags: d.tags })
  await client.setState({ type: 'conversation', id: d.conversationId, name: d.stateName, payload: { mark } })
  await client.setState({ type: 'user', id: d.userId, name: d.stateName, payload: { mark } })
  await client.setState({ type: 'bot', id: d.conversationId, name: d.stateName, payload: { mark }, expiry: 60 })
  await client.setState({ type: 'workflow', id: d.workflowId, name: d.stateName, payload: { mark }, expiry: 3600 })
  await client.createWorkflow({ name: d.stateName, status: 'pending', input: { mark }, conversationId: d.conversationId, userId: d.userId, tags: d.tags })
}

/** What a bot reads back of `d`: `mark` when it is its own data, nothing when it never wrote any. */
async function assertSees(client: Client, d: Dataset, mark: string | undefined) {
  const owners = [
    { type: 'conversation', id: d.conversationId },
    { type: 'user', id: d.userId },
    { type: 'bot', id: d.conversationId },
    { type: 'workflow', id: d.workflowId },
  ] as const
  const firstTag = Object.fromEntries(Object.entries(d.tags).slice(0, 1))
  const lists = {
    conversations: (await client.listConversations({})).conversations,
    taggedConversations: (await client.listConversations({ tags: d.tags })).conversations,
    byParticipant: (await client.listConversations({ participantIds: [d.userId] })).conversations,
    users: (await client.listUsers({})).users,
    taggedUsers: (await client.listUsers({ tags: firstTag })).users,
    messages: (await client.listMessages({})).messages,
    taggedMessages: (await client.listMessages({ tags: firstTag })).messages,
    workflows: (await client.listWorkflows({})).workflows,
    taggedWorkflows: (await client.listWorkflows({ tags: d.tags })).workflows,
    workflowsOfConversation: (await client.listWorkflows({ conversationId: d.conversationId, name: d.stateName })).workflows,
  }
  const [tagName, tagValue] = Object.entries(d.tags)[0]!
  for (const type of ['conversation', 'user', 'message'] as const)
    assert.deepEqual((await client.listTagValues({ key: tagName, type })).tags, mark === undefined ? [] : [{ value: tagValue }], `${type} tag values`)
  if (mark === undefined) {
    assert.equal(await errorType(client.getConversation({ id: d.conversationId })), 'ResourceNotFound')
    assert.equal(await errorType(client.getUser({ id: d.userId })), 'ResourceNotFound')
    for (const [name, list] of Object.entries(lists)) assert.deepEqual(list, [], name)
    for (const owner of owners) {
      assert.equal(await errorType(client.getState({ ...owner, name: d.stateName })), 'ResourceNotFound', owner.type)
      // A conversation or user the bot does not have may be refused outright, or list nothing.
      const listed = await client.listStates(owner).then((r) => r.states, (error) => (isApiError(error) ? error.type : error))
      if (owner.type === 'conversation' || owner.type === 'user') assert.ok(listed === 'ResourceNotFound' || (Array.isArray(listed) && listed.length === 0), owner.type)
      else assert.deepEqual(listed, [], owner.type)
    }
    return
  }
  assert.deepEqual((await client.getConversation({ id: d.conversationId })).conversation.tags, d.tags)
  assert.deepEqual((await client.getUser({ id: d.userId })).user.tags, d.tags)
  for (const [name, list] of Object.entries(lists)) assert.equal(list.length, 1, name)
  assert.deepEqual(lists.messages[0]!.payload, { mark })
  assert.deepEqual(lists.workflows[0]!.input, { mark })
  assert.deepEqual(
    (await client.listParticipants({ id: d.conversationId })).participants.map((p) => p.id),
    [d.userId],
  )
  for (const owner of owners) {
    assert.deepEqual((await client.getState({ ...owner, name: d.stateName })).state.payload, { mark }, owner.type)
    const states = (await client.listStates(owner)).states
    assert.deepEqual(states.map((s) => [s.name, s.payload]), [[d.stateName, { mark }]], owner.type)
  }
}

/** The bot ids that own each key of the store: ['b', bot, ...], ['x' | 'd' | 'w', at, bot, ...] (expiries, due events, workflow timeouts). */
async function ownersOfKeys(store: Store): Promise<string[]> {
  const owners: string[] = []
  for (const [k] of await dump(store)) {
    const segs = decodeKey(k)
    assert.equal(key(...segs), k, 'every stored key is the canonical encoding of its segments')
    assert.ok(['b', 'x', 'd', 'w'].includes(segs[0]!), `unknown namespace in ${JSON.stringify(segs)}`)
    owners.push(segs[0] === 'b' ? segs[1]! : segs[2]!)
  }
  return owners
}

for (const backend of backends) {
  describe(`bots share a ${backend.name} database without seeing each other`, { skip: backend.skip }, () => {
    let store: Store
    let close: () => Promise<void>
    before(async () => ({ store, close } = await backend.open()))
    after(() => close())

    test('whatever their ids, one bot never reads, lists or owns a key of the other', async () => {
      await fc.assert(
        fc.asyncProperty(botPair, dataset, async ([botA, botB], d) => {
          await store.clear()
          const a = testClient(store, { botId: botA, clock: new VirtualClock(Date.UTC(2026, 0, 1)) }).client
          const b = testClient(store, { botId: botB, clock: new VirtualClock(Date.UTC(2026, 0, 2)) }).client

          await writeAll(a, d, 'A')
          const keysOfA = await ownersOfKeys(store)
          assert.ok(keysOfA.length > 0)
          assert.ok(keysOfA.every((owner) => owner === botA), 'every key written by A is in A’s namespace')
          await assertSees(b, d, undefined)

          // B writes records with the very same ids, names and tags: each still sees only its own.
          await writeAll(b, d, 'B')
          await assertSees(a, d, 'A')
          await assertSees(b, d, 'B')
          const owners = await ownersOfKeys(store)
          const count = (bot: string) => owners.filter((o) => o === bot).length
          assert.equal(count(botA) + count(botB), owners.length)
          assert.equal(count(botA), keysOfA.length, 'B’s writes touched none of A’s keys')
          assert.equal(count(botB), keysOfA.length, 'the same writes make as many keys for B as for A')

          // A deleting everything of its own leaves B's data whole.
          await a.deleteConversation({ id: d.conversationId })
          await a.deleteUser({ id: d.userId })
          await a.deleteState({ type: 'bot', id: d.conversationId, name: d.stateName })
          await a.deleteState({ type: 'workflow', id: d.workflowId, name: d.stateName })
          assert.deepEqual(await ownersOfKeys(store), Array(keysOfA.length).fill(botB))
          await assertSees(a, d, undefined)
          await assertSees(b, d, 'B')
        }),
        { numRuns: 40 },
      )
    })

    test('an id with a control character (or a tag named __proto__) is refused as InvalidPayload and writes nothing', async () => {
      const control = fc.integer({ min: 0, max: 0x20 }).map((c) => String.fromCharCode(c === 0x20 ? 0x7f : c))
      const badId = fc
        .tuple(fc.string({ unit: printableUnit, maxLength: 20 }), fc.oneof(fc.constant('\u0000'), control), fc.string({ unit, maxLength: 20 }))
        .map(([head, c, tail]) => (head + c + tail).slice(0, 200))
      await fc.assert(
        fc.asyncProperty(botId, dataset, badId, async (bot, d, bad) => {
          await store.clear()
          const { client } = testClient(store, { botId: bot })
          await client.createUser({ id: d.userId })
          await client.createConversation({ id: d.conversationId })
          const before = await dump(store)
          const calls: [string, () => Promise<unknown>][] = [
            ['createConversation', () => client.createConversation({ id: bad })],
            ['getOrCreateConversation', () => client.getOrCreateConversation({ id: bad })],
            ['createUser', () => client.createUser({ id: bad })],
            ['getOrCreateUser', () => client.getOrCreateUser({ id: bad })],
            ['addParticipant', () => client.addParticipant({ id: d.conversationId, userId: bad })],
            ['addParticipant to', () => client.addParticipant({ id: bad, userId: d.userId })],
            ['createMessage', () => client.createMessage({ conversationId: bad, userId: d.userId, type: 'text', payload: {}, tags: {} })],
            ['setState bot', () => client.setState({ type: 'bot', id: bad, name: d.stateName, payload: { x: 1 } })],
            ['setState workflow', () => client.setState({ type: 'workflow', id: bad, name: d.stateName, payload: { x: 1 } })],
            ['getOrSetState', () => client.getOrSetState({ type: 'bot', id: bad, name: d.stateName, payload: { x: 1 } })],
            // Not an id, but the same rule: a tag named __proto__ would be dropped silently, so it is refused.
            ['tag named __proto__', () => client.createUser({ tags: JSON.parse('{"__proto__":"x"}') })],
            ['tag patch named __proto__', () => client.updateConversation({ id: d.conversationId, tags: JSON.parse('{"__proto__":"x"}') })],
          ]
          for (const [name, call] of calls) assert.equal(await errorType(call()), 'InvalidPayload', name)
          assert.deepEqual(await dump(store), before)
        }),
        { numRuns: 40 },
      )
    })
  })
}
