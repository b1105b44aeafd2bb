/**
 * Every snippet of the reference page (shared/reference/botpress-conversations-users-state.md), its body
 * kept as published, run as a handler called directly with objects made through the client. `console`
 * inside the snippets is a recorder, so the tests can read what a snippet printed.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { z } from 'zod'
import type { Client, Conversation, Message, State, StateDefinition, User } from '../runtime/client/index.ts'
import { inRange } from '../runtime/store/keys.ts'
import * as layout from '../runtime/store/layout.ts'
import type { Store } from '../runtime/store/store.ts'
import type { VirtualClock } from '../runtime/time/clock.ts'
import { backends } from './support/backends.ts'
import { dump, testClient } from './support/client.ts'

/** What a message handler receives (and the `workflow` the state-type snippet names). */
type HandlerArgs = {
  client: Client
  ctx: { botId: string }
  conversation: Conversation
  user: User
  message: Message
  workflow: { id: string }
}
type Handler = (args: HandlerArgs) => Promise<void>

/** A stand-in for `console` that keeps every line. */
function recorder() {
  const lines: unknown[][] = []
  return { lines, log: (...args: unknown[]) => void lines.push(args) }
}

/** The stand-in for `@botpress/sdk` the definition snippet needs: its `z`, and a BotDefinition that keeps its input. */
const sdk = {
  z,
  BotDefinition: class<T extends { states: Record<string, StateDefinition> }> {
    constructor(readonly props: T) {}
  },
}

/** The page's snippets, in page order. */
function snippets(console: { log: (...args: unknown[]) => void }) {
  // Access conversation data
  const accessData: Handler = async ({ conversation, user, message }) => {
    console.log('Conversation ID:', conversation.id)
    console.log('User ID:', user.id)
    console.log('Message ID:', message.id)
    // Access conversation tags
    console.log('Conversation tags:', conversation.tags)
    // Access user tags
    console.log('User tags:', user.tags)
  }

  // Get conversation
  const getConversation: Handler = async ({ client, conversation }) => {
    const { conversation: conv } = await client.getConversation({
      id: conversation.id,
    })
    console.log('Integration:', conv.integration)
    console.log('Created at:', conv.createdAt)
    console.log('Tags:', conv.tags)
  }

  // Update conversation
  const updateConversation: Handler = async ({ client, conversation }) => {
    await client.updateConversation({
      id: conversation.id,
      tags: {
        ...conversation.tags,
        topic: 'support',
        priority: 'high',
        lastActivity: new Date().toISOString(),
      },
    })
  }

  // Get user
  const getUser: Handler = async ({ client, user }) => {
    const { user: userData } = await client.getUser({
      id: user.id,
    })
    console.log('User name:', userData.name)
    console.log('User tags:', userData.tags)
  }

  // Update user
  const updateUser: Handler = async ({ client, user }) => {
    await client.updateUser({
      id: user.id,
      tags: {
        ...user.tags,
        language: 'en',
        timezone: 'America/New_York',
        lastSeen: new Date().toISOString(),
      },
    })
  }

  // List conversations (an event handler)
  const dailyReport = async ({ client }: { client: Client }) => {
    const { conversations } = await client.listConversations({
      limit: 100,
    })
    console.log(`Total conversations: ${conversations.length}`)
    for (const conv of conversations) {
      console.log(`- ${conv.id}: ${conv.tags.topic}`)
    }
  }

  // List conversations, every page
  const allConversationsLoop = async ({ client }: { client: Client }) => {
    let nextToken: string | undefined
    const allConversations = []
    do {
      const { conversations, meta } = await client.listConversations({
        limit: 100,
        nextToken,
      })
      allConversations.push(...conversations)
      nextToken = meta.nextToken
    } while (nextToken)
    console.log(`Found ${allConversations.length} conversations`)
    return allConversations
  }

  // List users (an event handler)
  const userReport = async ({ client }: { client: Client }) => {
    const { users } = await client.listUsers({
      limit: 100,
    })
    console.log(`Total users: ${users.length}`)
    for (const user of users) {
      console.log(`- ${user.id}: ${user.name || 'Unknown'}`)
    }
  }

  // Delete conversation
  const deleteConversation: Handler = async ({ client, conversation, message }) => {
    if (message.payload.text === '/delete') {
      await client.deleteConversation({
        id: conversation.id,
      })
      console.log('Conversation deleted')
    }
  }

  // Delete user
  const deleteUser: Handler = async ({ client, user, message }) => {
    if (message.payload.text === '/deleteAccount') {
      await client.deleteUser({
        id: user.id,
      })
      console.log('User deleted')
    }
  }

  // Get or set state
  const getOrSetPreferences: Handler = async ({ client, user }) => {
    const { state } = await client.getOrSetState({
      type: 'user',
      id: user.id,
      name: 'preferences',
      payload: {
        language: 'en',
        timezone: 'UTC',
        notifications: true,
      },
    })
    console.log('User preferences:', state.payload)
  }

  // Set state
  const setPreferences: Handler = async ({ client, user, message: _message }) => {
    // Get current state
    const { state } = await client.getOrSetState({
      type: 'user',
      id: user.id,
      name: 'preferences',
      payload: { language: 'en' },
    })
    // Update state
    await client.setState({
      type: 'user',
      id: user.id,
      name: 'preferences',
      payload: {
        ...state.payload,
        language: 'es',
      },
    })
  }

  // Get state
  const getContext: Handler = async ({ client, conversation }) => {
    try {
      const { state } = await client.getState({
        type: 'conversation',
        id: conversation.id,
        name: 'context',
      })
      console.log('Conversation context:', state.payload)
    } catch (error) {
      console.log('State not found')
    }
  }

  // List states
  const listUserStates: Handler = async ({ client, user }) => {
    const { states } = await client.listStates({
      type: 'user',
      id: user.id,
    })
    for (const state of states) {
      console.log(`State ${state.name}:`, state.payload)
    }
  }

  // Delete state
  const resetPreferences: Handler = async ({ client, user, message }) => {
    if (message.payload.text === '/reset') {
      await client.deleteState({
        type: 'user',
        id: user.id,
        name: 'preferences',
      })
      console.log('Preferences reset')
    }
  }

  // State types: the four setState snippets
  const stateTypes: Handler = async ({ client, conversation, user, ctx, workflow }) => {
    // Conversation state
    await client.setState({
      type: 'conversation',
      id: conversation.id,
      name: 'context',
      payload: { topic: 'billing', priority: 'high' },
    })
    // User state
    await client.setState({
      type: 'user',
      id: user.id,
      name: 'profile',
      payload: { name: 'John', email: 'john@example.com' },
    })
    // Bot state
    await client.setState({
      type: 'bot',
      id: ctx.botId,
      name: 'config',
      payload: { version: '1.0.0', lastRestart: new Date() },
    })
    // Workflow state
    await client.setState({
      type: 'workflow',
      id: workflow.id,
      name: 'progress',
      payload: { step: 3, totalSteps: 5 },
    })
  }

  // Handle expired state (the body of bot.on.stateExpired('sessionData', ...))
  const sessionExpired = async ({ state, client: _client }: { state: State; client: Client }) => {
    console.log('Session expired:', state.payload)
    // Clean up resources
    // Send notification
    // ...
  }

  return {
    accessData,
    getConversation,
    updateConversation,
    getUser,
    updateUser,
    dailyReport,
    allConversationsLoop,
    userReport,
    deleteConversation,
    deleteUser,
    getOrSetPreferences,
    setPreferences,
    getContext,
    listUserStates,
    resetPreferences,
    stateTypes,
    sessionExpired,
  }
}

// State expiration: the definition snippet. The page writes `sdk.z.record(sdk.z.any())`, zod 3's one-argument form;
// plain zod 4's types want the key schema too, so it is spelt out here (the runtime's SDK is what accepts the page's form).
const definition = new sdk.BotDefinition({
  states: {
    sessionData: {
      type: 'conversation',
      schema: sdk.z.object({
        startTime: sdk.z.string(),
        data: sdk.z.record(sdk.z.string(), sdk.z.any()),
      }),
      expiry: 3600, // Expires after 1 hour (in seconds)
    },
  },
})

const isIso = (value: unknown) => typeof value === 'string' && new Date(value).toISOString() === value

for (const backend of backends) {
  describe(backend.name, { skip: backend.skip }, () => {
    let store: Store
    let close: () => Promise<void>
    let client: Client
    let clock: VirtualClock
    let console: ReturnType<typeof recorder>
    let page: ReturnType<typeof snippets>
    const botId = 'refbot'

    beforeEach(async () => {
      ;({ store, close } = await backend.open())
      ;({ client, clock } = testClient(store, { botId, states: definition.props.states }))
      console = recorder()
      page = snippets(console)
    })
    afterEach(() => close())

    /** A user writing `text` in a conversation: what a message handler would be called with. */
    async function incoming(text: string, from?: { conversation: Conversation; user: User }): Promise<HandlerArgs> {
      const user = from?.user ?? (await client.createUser({ name: 'Ann', tags: { plan: 'pro' } })).user
      const conversation = from?.conversation ?? (await client.createConversation({ channel: 'web', tags: { source: 'site' } })).conversation
      if (!from) await client.addParticipant({ id: conversation.id, userId: user.id })
      const { message } = await client.createMessage({ conversationId: conversation.id, userId: user.id, type: 'text', payload: { text }, tags: {} })
      return { client, ctx: { botId }, conversation, user, message, workflow: { id: 'wf_onboarding' } }
    }

    it('a handler sees the ids and tags of the conversation, user and message it was called with', async () => {
      const args = await incoming('hello')
      await page.accessData(args)
      assert.deepEqual(console.lines, [
        ['Conversation ID:', args.conversation.id],
        ['User ID:', args.user.id],
        ['Message ID:', args.message.id],
        ['Conversation tags:', { source: 'site' }],
        ['User tags:', { plan: 'pro' }],
      ])
    })

    it('getConversation gives back the stored conversation: its integration (chat, as Botpress), creation time and tags', async () => {
      const args = await incoming('hello')
      await page.getConversation(args)
      assert.deepEqual(console.lines, [
        ['Integration:', 'chat'],
        ['Created at:', args.conversation.createdAt],
        ['Tags:', { source: 'site' }],
      ])
      assert.ok(isIso(console.lines[1]![1]))
    })

    it('updateConversation keeps the old tags and adds topic, priority and lastActivity', async () => {
      const args = await incoming('hello')
      await page.updateConversation(args)
      const { conversation } = await client.getConversation({ id: args.conversation.id })
      assert.deepEqual(Object.keys(conversation.tags).sort(), ['lastActivity', 'priority', 'source', 'topic'])
      assert.equal(conversation.tags.source, 'site')
      assert.equal(conversation.tags.topic, 'support')
      assert.equal(conversation.tags.priority, 'high')
      assert.ok(isIso(conversation.tags.lastActivity))
      assert.deepEqual(ids((await client.listConversations({ tags: { topic: 'support', priority: 'high' } })).conversations), [conversation.id])
    })

    it('getUser prints the user’s name and tags', async () => {
      const args = await incoming('hello')
      await page.getUser(args)
      assert.deepEqual(console.lines, [
        ['User name:', 'Ann'],
        ['User tags:', { plan: 'pro' }],
      ])
    })

    it('updateUser keeps the old tags and adds language, timezone and lastSeen', async () => {
      const args = await incoming('hello')
      await page.updateUser(args)
      const { user } = await client.getUser({ id: args.user.id })
      assert.equal(user.tags.plan, 'pro')
      assert.equal(user.tags.language, 'en')
      assert.equal(user.tags.timezone, 'America/New_York')
      assert.ok(isIso(user.tags.lastSeen))
      assert.equal(user.name, 'Ann')
    })

    it('the dailyReport event lists the conversations with their topic', async () => {
      const made = []
      for (const topic of ['billing', 'support', 'sales']) {
        made.push((await client.createConversation({ tags: { topic } })).conversation)
        clock.advance(1000)
      }
      await page.dailyReport({ client })
      assert.deepEqual(console.lines, [
        ['Total conversations: 3'],
        ...made.reverse().map((c) => [`- ${c.id}: ${c.tags.topic}`]),
      ])
    })

    it('the pagination loop collects all 250 conversations over three pages, each once', async () => {
      const made = new Set<string>()
      for (let i = 0; i < 250; i++) {
        made.add((await client.createConversation({})).conversation.id)
        if (i % 10 === 0) clock.advance(1)
      }
      const all = await page.allConversationsLoop({ client })
      assert.deepEqual(console.lines, [['Found 250 conversations']])
      assert.deepEqual(new Set(ids(all)), made)
      assert.equal(all.length, 250)
    })

    it('the userReport event lists users, with Unknown for those without a name', async () => {
      const named = (await client.createUser({ name: 'Ann' })).user
      clock.advance(1000)
      const anonymous = (await client.createUser({})).user
      await page.userReport({ client })
      assert.deepEqual(console.lines, [['Total users: 2'], [`- ${anonymous.id}: Unknown`], [`- ${named.id}: Ann`]])
    })

    it('"/delete" deletes the conversation with its messages and states; other text does not', async () => {
      const first = await incoming('hello')
      await page.stateTypes(first)
      await page.deleteConversation(first)
      assert.deepEqual(console.lines, [])
      await client.getConversation({ id: first.conversation.id })

      const args = await incoming('/delete', first)
      await page.deleteConversation(args)
      assert.deepEqual(console.lines, [['Conversation deleted']])
      await assert.rejects(client.getConversation({ id: args.conversation.id }), { type: 'ResourceNotFound', code: 404 })
      await assert.rejects(client.getMessage({ id: args.message.id }), { type: 'ResourceNotFound', code: 404 })
      assert.deepEqual((await dump(store)).filter(([k, v]) => k.includes(args.conversation.id) || v.includes(args.conversation.id)), [])
      // the user and its states remain
      assert.equal((await client.getUser({ id: args.user.id })).user.id, args.user.id)
      assert.deepEqual((await client.getState({ type: 'user', id: args.user.id, name: 'profile' })).state.payload, { name: 'John', email: 'john@example.com' })
    })

    it('"/deleteAccount" deletes the user with its states and participation; the conversation remains', async () => {
      const first = await incoming('hi')
      await page.getOrSetPreferences(first)
      const args = await incoming('/deleteAccount', first)
      await page.deleteUser(args)
      assert.deepEqual(console.lines.at(-1), ['User deleted'])
      await assert.rejects(client.getUser({ id: args.user.id }), { type: 'ResourceNotFound', code: 404 })
      await assert.rejects(client.getState({ type: 'user', id: args.user.id, name: 'preferences' }), { type: 'ResourceNotFound' })
      assert.deepEqual((await dump(store)).filter(([k, v]) => k.includes(args.user.id) || v.includes(args.user.id)), [])
      assert.deepEqual((await client.listParticipants({ id: args.conversation.id })).participants, [])
      await client.getConversation({ id: args.conversation.id })
    })

    it('getOrSetState sets the default preferences once and then returns what is stored', async () => {
      const args = await incoming('hi')
      await page.getOrSetPreferences(args)
      assert.deepEqual(console.lines, [['User preferences:', { language: 'en', timezone: 'UTC', notifications: true }]])
      await client.setState({ type: 'user', id: args.user.id, name: 'preferences', payload: { language: 'fr', timezone: 'UTC', notifications: false } })
      await page.getOrSetPreferences(args)
      assert.deepEqual(console.lines[1], ['User preferences:', { language: 'fr', timezone: 'UTC', notifications: false }])
    })

    it('the set-state snippet switches the language to Spanish and keeps the other preferences', async () => {
      const args = await incoming('hola')
      await page.getOrSetPreferences(args)
      await page.setPreferences(args)
      const { state } = await client.getState({ type: 'user', id: args.user.id, name: 'preferences' })
      assert.deepEqual(state.payload, { language: 'es', timezone: 'UTC', notifications: true })

      const fresh = await incoming('hola')
      await page.setPreferences(fresh)
      assert.deepEqual((await client.getState({ type: 'user', id: fresh.user.id, name: 'preferences' })).state.payload, { language: 'es' })
    })

    it('getState throws for a context never set, and prints it once the conversation state is set', async () => {
      const args = await incoming('hi')
      await page.getContext(args)
      assert.deepEqual(console.lines, [['State not found']])
      await page.stateTypes(args)
      await page.getContext(args)
      assert.deepEqual(console.lines[1], ['Conversation context:', { topic: 'billing', priority: 'high' }])
    })

    it('listStates prints every user state by name', async () => {
      const args = await incoming('hi')
      await page.getOrSetPreferences(args)
      await page.stateTypes(args)
      console.lines.length = 0
      await page.listUserStates(args)
      assert.deepEqual(console.lines, [
        ['State preferences:', { language: 'en', timezone: 'UTC', notifications: true }],
        ['State profile:', { name: 'John', email: 'john@example.com' }],
      ])
    })

    it('"/reset" deletes the preferences and nothing else; other text keeps them', async () => {
      const args = await incoming('hi')
      await page.getOrSetPreferences(args)
      await page.stateTypes(args)
      await page.resetPreferences(args)
      await client.getState({ type: 'user', id: args.user.id, name: 'preferences' })

      const reset = await incoming('/reset', args)
      await page.resetPreferences(reset)
      assert.deepEqual(console.lines.at(-1), ['Preferences reset'])
      await assert.rejects(client.getState({ type: 'user', id: args.user.id, name: 'preferences' }), { type: 'ResourceNotFound', code: 404 })
      assert.deepEqual((await client.listStates({ type: 'user', id: args.user.id })).states.map((s) => s.name), ['profile'])
      // resetting twice is harmless
      await page.resetPreferences(reset)
      // and the next getOrSetState brings the defaults back
      await page.getOrSetPreferences(reset)
      assert.deepEqual(console.lines.at(-1), ['User preferences:', { language: 'en', timezone: 'UTC', notifications: true }])
    })

    it('the four state types are stored; the bot’s lastRestart Date becomes an ISO string', async () => {
      const args = await incoming('hi')
      await page.stateTypes(args)
      const read = (type: State['type'], id: string, name: string) => client.getState({ type, id, name }).then((r) => r.state)
      const context = await read('conversation', args.conversation.id, 'context')
      assert.deepEqual(context.payload, { topic: 'billing', priority: 'high' })
      assert.equal(context.type, 'conversation')
      assert.deepEqual((await read('user', args.user.id, 'profile')).payload, { name: 'John', email: 'john@example.com' })
      const config = await read('bot', botId, 'config')
      assert.equal(config.payload.version, '1.0.0')
      assert.ok(isIso(config.payload.lastRestart), `lastRestart is ${JSON.stringify(config.payload.lastRestart)}`)
      const progress = await read('workflow', 'wf_onboarding', 'progress')
      assert.deepEqual(progress.payload, { step: 3, totalSteps: 5 })
      assert.equal(progress.id, 'wf_onboarding')
      for (const state of [context, config, progress]) {
        assert.ok(isIso(state.createdAt) && isIso(state.updatedAt))
        assert.ok(!('expiresAt' in state), 'undeclared states do not expire')
      }
    })

    it('sessionData, declared with expiry 3600, lives one hour (seconds, not ms) and waits in the expiry index for stateExpired', async () => {
      const args = await incoming('hi')
      const address = { type: 'conversation' as const, id: args.conversation.id, name: 'sessionData' }
      const startTime = new Date(clock.now()).toISOString()
      const { state } = await client.setState({ ...address, payload: { startTime, data: { cart: ['book'] } } })
      assert.equal(Date.parse(state.expiresAt!) - clock.now(), 3600 * 1000)
      // the runtime finds it at its time to run the stateExpired handlers
      const expiries = (await dump(store)).filter(([k]) => inRange(k, layout.states.expiryRange())).map(([k]) => k)
      assert.deepEqual(expiries, [layout.states.expiry(Date.parse(state.expiresAt!), botId, 'conversation', args.conversation.id, 'sessionData')])
      // the schema of the definition holds
      await assert.rejects(client.setState({ ...address, payload: { startTime: 1, data: {} } }), { type: 'InvalidPayload', code: 400 })

      clock.advance(3599 * 1000)
      assert.deepEqual((await client.getState(address)).state.payload.data, { cart: ['book'] })
      clock.advance(1000)
      await assert.rejects(client.getState(address), { type: 'ResourceNotFound', code: 404 })
      assert.deepEqual((await client.listStates({ type: 'conversation', id: args.conversation.id })).states, [])

      await page.sessionExpired({ state, client })
      assert.deepEqual(console.lines, [['Session expired:', { startTime, data: { cart: ['book'] } }]])
    })
  })
}

function ids(records: { id: string }[]) {
  return records.map((r) => r.id)
}
