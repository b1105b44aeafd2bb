import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { z } from 'zod'
import { callNames, type Client } from '../runtime/client/index.ts'
import { MAX_FILE_BYTES } from '../runtime/client/files.ts'
import type { Store } from '../runtime/store/store.ts'
import { backends } from './support/backends.ts'
import { dump, testClient } from './support/client.ts'

type CallName = (typeof callNames)[number]

/** What the bad calls are made against: a few records of each kind, and tokens of other lists. */
type Scene = {
  conversationId: string
  otherConversationId: string
  userId: string
  outsiderId: string
  messageId: string
  eventId: string
  workflowId: string
  fileId: string
  tokens: {
    conversations: string
    conversationsByUpdate: string
    users: string
    messagesOfConversation: string
    messages: string
    events: string
    states: string
    participants: string
    otherBotConversations: string
    otherBotStates: string
    workflows: string
    tagValues: string
    files: string
    filesByKey: string
  }
}

/** One bad call: its input, and the error it must raise (`words` must appear in the message). */
type Case = { why: string; input: (s: Scene) => unknown; type: 'InvalidPayload' | 'ResourceNotFound' | 'PayloadTooLarge'; words?: (s: Scene) => string[] }

const big = () => ({ text: 'x'.repeat(128 * 1024 + 1) })
const circular = () => {
  const payload: Record<string, unknown> = {}
  payload.self = payload
  return payload
}

const invalid = (why: string, input: (s: Scene) => unknown, ...words: string[]): Case => ({ why, input, type: 'InvalidPayload', words: () => words })
const missing = (why: string, input: (s: Scene) => unknown, words: (s: Scene) => string[] = () => []): Case => ({ why, input, type: 'ResourceNotFound', words })
const tooLarge = (why: string, input: (s: Scene) => unknown): Case => ({ why, input, type: 'PayloadTooLarge' })

/** Bad ids for a call whose only field is `id`. */
function badIds(extra: (s: Scene) => Record<string, unknown> = () => ({})): Case[] {
  return [
    invalid('no input at all', () => undefined, 'id'),
    invalid('input that is not an object', () => 'conv_1', 'input'),
    invalid('no id', (s) => ({ ...extra(s) }), 'id'),
    invalid('an id that is a number', (s) => ({ ...extra(s), id: 42 }), 'id'),
    invalid('an empty id', (s) => ({ ...extra(s), id: '' }), 'id'),
    invalid('an id over 200 characters', (s) => ({ ...extra(s), id: 'x'.repeat(201) }), 'id'),
    invalid('an id with a control character', (s) => ({ ...extra(s), id: 'a\nb' }), 'id'),
  ]
}

/** Bad paging fields of a list call; `tokens` are tokens of other lists, which this list must refuse. */
function badPaging(base: (s: Scene) => Record<string, unknown>, tokens: (keyof Scene['tokens'])[]): Case[] {
  return [
    invalid('limit 0', (s) => ({ ...base(s), limit: 0 }), 'limit'),
    invalid('limit 101', (s) => ({ ...base(s), limit: 101 }), 'limit'),
    invalid('limit -5', (s) => ({ ...base(s), limit: -5 }), 'limit'),
    invalid('a fractional limit', (s) => ({ ...base(s), limit: 2.5 }), 'limit'),
    invalid('a limit given as text', (s) => ({ ...base(s), limit: '10' }), 'limit'),
    invalid('pageSize 0', (s) => ({ ...base(s), pageSize: 0 }), 'pageSize'),
    invalid('pageSize 101', (s) => ({ ...base(s), pageSize: 101 }), 'pageSize'),
    invalid('a pageSize given as text', (s) => ({ ...base(s), pageSize: '10' }), 'pageSize'),
    invalid('a nextToken that is a number', (s) => ({ ...base(s), nextToken: 7 }), 'nextToken'),
    invalid('a garbage nextToken', (s) => ({ ...base(s), nextToken: 'not-a-token!!' }), 'nextToken'),
    invalid('a nextToken of base64 garbage', (s) => ({ ...base(s), nextToken: Buffer.from('b\u0000bot1\u0000zzz').toString('base64url') }), 'nextToken'),
    ...tokens.map((name) => invalid(`a nextToken of another list (${name})`, (s) => ({ ...base(s), nextToken: s.tokens[name] }), 'nextToken')),
  ]
}

const stateAddress = (s: Scene) => ({ type: 'conversation', id: s.conversationId, name: 'notes' })

/** Bad addresses of a state call; `payload` holds the call's other fields. */
function badAddress(payload: Record<string, unknown> = {}): Case[] {
  return [
    invalid('no input at all', () => undefined, 'type'),
    invalid('no type', (s) => ({ id: s.conversationId, name: 'notes', ...payload }), 'type'),
    invalid('an unknown type', (s) => ({ type: 'session', id: s.conversationId, name: 'notes', ...payload }), 'type'),
    invalid('no id', () => ({ type: 'bot', name: 'notes', ...payload }), 'id'),
    invalid('an id that is a number', () => ({ type: 'bot', id: 1, name: 'notes', ...payload }), 'id'),
    invalid('no name', () => ({ type: 'bot', id: 'bot1', ...payload }), 'name'),
    invalid('an empty name', () => ({ type: 'bot', id: 'bot1', name: '', ...payload }), 'name'),
    invalid('a name that is an object', () => ({ type: 'bot', id: 'bot1', name: { a: 1 }, ...payload }), 'name'),
    missing('a conversation that does not exist', () => ({ type: 'conversation', id: 'conv_nope', name: 'notes', ...payload }), () => ['conv_nope']),
    missing('a user that does not exist', () => ({ type: 'user', id: 'user_nope', name: 'notes', ...payload }), () => ['user_nope']),
  ]
}

/** Bad payloads and expiries of a call that writes a state. */
function badStateWrites(): Case[] {
  return [
    invalid('no payload', (s) => stateAddress(s), 'payload'),
    invalid('a payload that is text', (s) => ({ ...stateAddress(s), payload: 'hello' }), 'payload'),
    invalid('a payload that is an array', (s) => ({ ...stateAddress(s), payload: [1] }), 'payload'),
    invalid('a payload that is circular', (s) => ({ ...stateAddress(s), payload: circular() }), 'payload'),
    invalid('a payload holding a BigInt', (s) => ({ ...stateAddress(s), payload: { n: 1n } }), 'payload'),
    tooLarge('a payload over 128 KiB', (s) => ({ ...stateAddress(s), payload: big() })),
    invalid('a negative expiry', (s) => ({ ...stateAddress(s), payload: { a: 1 }, expiry: -1 }), 'expiry'),
    invalid('a zero expiry', (s) => ({ ...stateAddress(s), payload: { a: 1 }, expiry: 0 }), 'expiry'),
    invalid('an expiry given as text', (s) => ({ ...stateAddress(s), payload: { a: 1 }, expiry: '3600' }), 'expiry'),
    invalid('a declared state whose payload fails its schema', (s) => ({ type: 'conversation', id: s.conversationId, name: 'sessionData', payload: { startTime: 1, data: {} } }), 'payload.startTime'),
    invalid('a declared state with a field missing', (s) => ({ type: 'conversation', id: s.conversationId, name: 'sessionData', payload: { startTime: 'now' } }), 'payload.data'),
    invalid('a declared state under the wrong type', (s) => ({ type: 'user', id: s.userId, name: 'sessionData', payload: { startTime: 'now', data: {} } }), 'type', 'sessionData'),
  ]
}

const convId = (s: Scene) => ({ id: s.conversationId })

/** Every call of the client, with the bad inputs it must refuse. The type makes a forgotten call a compile error. */
const cases: Record<CallName, Case[]> = {
  getConversation: [...badIds(), missing('an unknown id', () => ({ id: 'conv_nope' }), () => ['conv_nope'])],
  createConversation: [
    invalid('input that is not an object', () => 5, 'input'),
    invalid('an id that is a number', () => ({ id: 5 }), 'id'),
    invalid('a channel that is a number', () => ({ channel: 7 }), 'channel'),
    invalid('tags that are text', () => ({ tags: 'a=b' }), 'tags'),
    invalid('a tag whose value is a number', () => ({ tags: { topic: 5 } }), 'tags.topic'),
    invalid('a tag whose value is null', () => ({ tags: { topic: null } }), 'tags.topic'),
    invalid('a tag value over 1000 characters', () => ({ tags: { topic: 'x'.repeat(1001) } }), 'tags.topic'),
  ],
  getOrCreateConversation: [
    invalid('a tag whose value is a number', () => ({ tags: { thread: 1 } }), 'tags.thread'),
    invalid('discriminateByTags that is text', () => ({ tags: { a: 'b' }, discriminateByTags: 'a' }), 'discriminateByTags'),
    invalid('an id that is empty', () => ({ id: '' }), 'id'),
  ],
  updateConversation: [
    ...badIds(() => ({ tags: { a: 'b' } })),
    invalid('a tag whose value is a number', (s) => ({ ...convId(s), tags: { a: 5 } }), 'tags.a'),
    invalid('tags that are a list', (s) => ({ ...convId(s), tags: ['a'] }), 'tags'),
    invalid('a currentTaskId that is a number', (s) => ({ ...convId(s), currentTaskId: 3 }), 'currentTaskId'),
    missing('an unknown id', () => ({ id: 'conv_nope', tags: { a: 'b' } }), () => ['conv_nope']),
  ],
  listConversations: [
    invalid('input that is not an object', () => 'all', 'input'),
    ...badPaging(() => ({}), ['users', 'conversationsByUpdate', 'otherBotConversations', 'events', 'states']),
    invalid('a token of createdAt order used with updatedAt order', (s) => ({ sortField: 'updatedAt', nextToken: s.tokens.conversations }), 'nextToken'),
    invalid('a tag filter with a number', () => ({ tags: { a: 1 } }), 'tags.a'),
    invalid('participantIds that is text', (s) => ({ participantIds: s.userId }), 'participantIds'),
    invalid('participantIds holding a number', () => ({ participantIds: [1] }), 'participantIds.0'),
    invalid('an unknown sortField', () => ({ sortField: 'name' }), 'sortField'),
    invalid('an unknown sortDirection', () => ({ sortDirection: 'up' }), 'sortDirection'),
  ],
  deleteConversation: [...badIds(), missing('an unknown id', () => ({ id: 'conv_nope' }), () => ['conv_nope'])],

  addParticipant: [
    invalid('no conversation id', (s) => ({ userId: s.userId }), 'id'),
    invalid('no userId', (s) => ({ ...convId(s) }), 'userId'),
    invalid('a userId that is a number', (s) => ({ ...convId(s), userId: 5 }), 'userId'),
    missing('an unknown conversation', (s) => ({ id: 'conv_nope', userId: s.userId }), () => ['conv_nope']),
    missing('an unknown user', (s) => ({ ...convId(s), userId: 'user_nope' }), () => ['user_nope']),
  ],
  getParticipant: [
    invalid('no conversation id', (s) => ({ userId: s.userId }), 'id'),
    invalid('no userId', (s) => ({ ...convId(s) }), 'userId'),
    missing('an unknown conversation', (s) => ({ id: 'conv_nope', userId: s.userId }), () => ['conv_nope']),
    missing('a user who is not a participant', (s) => ({ ...convId(s), userId: s.outsiderId }), (s) => [s.outsiderId]),
    missing('an unknown user', (s) => ({ ...convId(s), userId: 'user_nope' }), () => ['user_nope']),
  ],
  listParticipants: [
    ...badIds(),
    ...badPaging(convId, ['users', 'conversations']),
    invalid('a token of another conversation’s participants', (s) => ({ id: s.otherConversationId, nextToken: s.tokens.participants }), 'nextToken'),
    missing('an unknown conversation', () => ({ id: 'conv_nope' }), () => ['conv_nope']),
  ],
  removeParticipant: [
    invalid('no conversation id', (s) => ({ userId: s.userId }), 'id'),
    invalid('no userId', (s) => ({ ...convId(s) }), 'userId'),
    missing('an unknown conversation', (s) => ({ id: 'conv_nope', userId: s.userId }), () => ['conv_nope']),
    missing('a user who is not a participant', (s) => ({ ...convId(s), userId: s.outsiderId }), (s) => [s.outsiderId]),
  ],

  getUser: [...badIds(), missing('an unknown id', () => ({ id: 'user_nope' }), () => ['user_nope'])],
  createUser: [
    invalid('input that is not an object', () => [], 'input'),
    invalid('a name that is a number', () => ({ name: 5 }), 'name'),
    invalid('a pictureUrl that is an object', () => ({ pictureUrl: {} }), 'pictureUrl'),
    invalid('a tag whose value is a boolean', () => ({ tags: { vip: true } }), 'tags.vip'),
    invalid('an id with a control character', () => ({ id: 'a\u0000b' }), 'id'),
  ],
  getOrCreateUser: [
    invalid('a tag whose value is a number', () => ({ tags: { email: 1 } }), 'tags.email'),
    invalid('a name that is a number', () => ({ name: 1 }), 'name'),
    invalid('discriminateByTags holding a number', () => ({ tags: { a: 'b' }, discriminateByTags: [1] }), 'discriminateByTags.0'),
  ],
  updateUser: [
    ...badIds(() => ({ name: 'x' })),
    invalid('a name that is a number', (s) => ({ id: s.userId, name: 5 }), 'name'),
    invalid('a tag whose value is a number', (s) => ({ id: s.userId, tags: { a: 5 } }), 'tags.a'),
    missing('an unknown id', () => ({ id: 'user_nope', name: 'x' }), () => ['user_nope']),
  ],
  listUsers: [
    ...badPaging(() => ({}), ['conversations', 'messages', 'otherBotConversations']),
    invalid('a conversationId that is a number', () => ({ conversationId: 4 }), 'conversationId'),
    invalid('a tag filter with a number', () => ({ tags: { a: 1 } }), 'tags.a'),
    invalid('an unknown sortDirection', () => ({ sortDirection: 'sideways' }), 'sortDirection'),
  ],
  deleteUser: [...badIds(), missing('an unknown id', () => ({ id: 'user_nope' }), () => ['user_nope'])],

  createMessage: [
    invalid('no input at all', () => undefined, 'conversationId'),
    invalid('no conversationId', (s) => ({ userId: s.userId, type: 'text', payload: { text: 'hi' }, tags: {} }), 'conversationId'),
    invalid('no userId', (s) => ({ ...cid(s), type: 'text', payload: { text: 'hi' }, tags: {} }), 'userId'),
    invalid('no type', (s) => ({ ...cid(s), userId: s.userId, payload: { text: 'hi' }, tags: {} }), 'type'),
    invalid('a type that is a number', (s) => ({ ...cid(s), userId: s.userId, type: 1, payload: { text: 'hi' }, tags: {} }), 'type'),
    invalid('no payload', (s) => ({ ...cid(s), userId: s.userId, type: 'text', tags: {} }), 'payload'),
    invalid('a payload that is text', (s) => ({ ...cid(s), userId: s.userId, type: 'text', payload: 'hi', tags: {} }), 'payload'),
    invalid('a payload that is circular', (s) => ({ ...cid(s), userId: s.userId, type: 'text', payload: circular(), tags: {} }), 'payload'),
    invalid('no tags (Botpress requires them, {} when there are none)', (s) => ({ ...cid(s), userId: s.userId, type: 'text', payload: { text: 'hi' } }), 'tags'),
    invalid('a tag whose value is a number', (s) => ({ ...cid(s), userId: s.userId, type: 'text', payload: {}, tags: { a: 1 } }), 'tags.a'),
    tooLarge('a payload over 128 KiB', (s) => ({ ...cid(s), userId: s.userId, type: 'text', payload: big(), tags: {} })),
    missing('an unknown conversation', (s) => ({ conversationId: 'conv_nope', userId: s.userId, type: 'text', payload: {}, tags: {} }), () => ['conv_nope']),
    missing('an unknown user', (s) => ({ ...cid(s), userId: 'user_nope', type: 'text', payload: {}, tags: {} }), () => ['user_nope']),
  ],
  getOrCreateMessage: [
    invalid('no tags', (s) => ({ ...cid(s), userId: s.userId, type: 'text' }), 'tags'),
    invalid('no type', (s) => ({ ...cid(s), userId: s.userId, tags: {} }), 'type'),
    invalid('a payload that is text', (s) => ({ ...cid(s), userId: s.userId, type: 'text', payload: 'hi', tags: {} }), 'payload'),
    invalid('discriminateByTags that is text', (s) => ({ ...cid(s), userId: s.userId, type: 'text', tags: { a: 'b' }, discriminateByTags: 'a' }), 'discriminateByTags'),
    tooLarge('a payload over 128 KiB', (s) => ({ ...cid(s), userId: s.userId, type: 'text', payload: big(), tags: {} })),
    missing('an unknown conversation', (s) => ({ conversationId: 'conv_nope', userId: s.userId, type: 'text', tags: { fresh: '1' } }), () => ['conv_nope']),
  ],
  getMessage: [...badIds(), missing('an unknown id', () => ({ id: 'msg_nope' }), () => ['msg_nope'])],
  updateMessage: [
    ...badIds(() => ({ tags: { a: 'b' } })),
    invalid('a payload that is a number', (s) => ({ id: s.messageId, payload: 3 }), 'payload'),
    invalid('a tag whose value is a number', (s) => ({ id: s.messageId, tags: { a: 1 } }), 'tags.a'),
    tooLarge('a payload over 128 KiB', (s) => ({ id: s.messageId, payload: big() })),
    missing('an unknown id', () => ({ id: 'msg_nope', tags: { a: 'b' } }), () => ['msg_nope']),
  ],
  listMessages: [
    ...badPaging(() => ({}), ['messagesOfConversation', 'users', 'events', 'otherBotConversations']),
    invalid('a token of another conversation’s messages', (s) => ({ conversationId: s.otherConversationId, nextToken: s.tokens.messagesOfConversation }), 'nextToken'),
    invalid('a token of the whole bot’s messages used for one conversation', (s) => ({ ...cid(s), nextToken: s.tokens.messages }), 'nextToken'),
    invalid('a conversationId that is a number', () => ({ conversationId: 1 }), 'conversationId'),
    invalid('a tag filter with a number', () => ({ tags: { a: 1 } }), 'tags.a'),
  ],
  deleteMessage: [...badIds(), missing('an unknown id', () => ({ id: 'msg_nope' }), () => ['msg_nope'])],

  createEvent: [
    invalid('no input at all', () => undefined, 'type'),
    invalid('no type', () => ({ payload: {} }), 'type'),
    invalid('an empty type', () => ({ type: '' }), 'type'),
    invalid('a payload that is a list', () => ({ type: 'e', payload: [1, 2] }), 'payload'),
    invalid('a payload that is circular', () => ({ type: 'e', payload: circular() }), 'payload'),
    tooLarge('a payload over 128 KiB', () => ({ type: 'e', payload: big() })),
    invalid('an empty schedule', () => ({ type: 'e', schedule: {} }), 'schedule'),
    invalid('a schedule with both delay and dateTime', () => ({ type: 'e', schedule: { delay: 1, dateTime: '2030-01-01T00:00:00Z' } }), 'schedule'),
    invalid('a negative delay', () => ({ type: 'e', schedule: { delay: -1 } }), 'schedule.delay'),
    invalid('a delay given as text', () => ({ type: 'e', schedule: { delay: '1000' } }), 'schedule.delay'),
    invalid('a dateTime that is not a date', () => ({ type: 'e', schedule: { dateTime: 'tomorrow' } }), 'schedule.dateTime'),
    invalid('a dateTime before 1970', () => ({ type: 'e', schedule: { dateTime: '1960-01-01T00:00:00Z' } }), 'schedule.dateTime'),
    invalid('a conversationId that is a number', () => ({ type: 'e', conversationId: 1 }), 'conversationId'),
    missing('an unknown conversation', () => ({ type: 'e', conversationId: 'conv_nope' }), () => ['conv_nope']),
    missing('an unknown user', () => ({ type: 'e', userId: 'user_nope' }), () => ['user_nope']),
  ],
  getEvent: [...badIds(), missing('an unknown id', () => ({ id: 'evt_nope' }), () => ['evt_nope'])],
  cancelScheduledEvent: [
    ...badIds(),
    missing('an unknown id', () => ({ id: 'evt_nope' }), () => ['evt_nope']),
    invalid('an event that is not scheduled', (s) => ({ id: s.eventId }), 'id', 'pending'),
  ],
  listEvents: [
    ...badPaging(() => ({}), ['messages', 'conversations', 'otherBotConversations']),
    invalid('an unknown status', () => ({ status: 'done' }), 'status'),
    invalid('a type that is a number', () => ({ type: 1 }), 'type'),
    invalid('a token of all events used with a type filter', (s) => ({ type: 'tick', nextToken: s.tokens.events }), 'nextToken'),
  ],

  getState: [
    ...badAddress(),
    missing('a state that does not exist', (s) => ({ type: 'conversation', id: s.conversationId, name: 'never-set' }), () => ['never-set']),
  ],
  setState: [...badAddress({ payload: { a: 1 } }), ...badStateWrites()],
  getOrSetState: [...badAddress({ payload: { a: 1 } }), ...badStateWrites()],
  patchState: [
    ...badAddress({ payload: { a: 1 } }),
    invalid('a payload that is text', (s) => ({ ...stateAddress(s), payload: 'x' }), 'payload'),
    invalid('no payload', (s) => ({ ...stateAddress(s) }), 'payload'),
    tooLarge('a payload over 128 KiB', (s) => ({ ...stateAddress(s), payload: big() })),
    missing('a state that does not exist', (s) => ({ type: 'conversation', id: s.conversationId, name: 'never-set', payload: { a: 1 } }), () => ['never-set']),
    invalid('a patch that breaks the declared schema', (s) => ({ type: 'conversation', id: s.conversationId, name: 'sessionData', payload: { data: 'not a record' } }), 'payload.data'),
  ],
  listStates: [
    invalid('no type', (s) => ({ id: s.conversationId }), 'type'),
    invalid('an unknown type', (s) => ({ type: 'global', id: s.conversationId }), 'type'),
    invalid('no id', () => ({ type: 'bot' }), 'id'),
    ...badPaging(stateAddressNoName, ['conversations', 'otherBotStates', 'users']),
    invalid('a token of another owner’s states', (s) => ({ type: 'conversation', id: s.otherConversationId, nextToken: s.tokens.states }), 'nextToken'),
  ],
  setStateExpiry: [
    ...badAddress({ expiry: 60 }),
    invalid('no expiry', (s) => stateAddress(s), 'expiry'),
    invalid('a zero expiry', (s) => ({ ...stateAddress(s), expiry: 0 }), 'expiry'),
    invalid('an expiry given as text', (s) => ({ ...stateAddress(s), expiry: '60' }), 'expiry'),
    missing('a state that does not exist', (s) => ({ type: 'conversation', id: s.conversationId, name: 'never-set', expiry: 60 }), () => ['never-set']),
  ],
  deleteState: [...badAddress()],

  createWorkflow: [
    invalid('no input at all', () => undefined, 'name'),
    invalid('no status', () => ({ name: 'onboarding' }), 'status'),
    invalid('a status a workflow cannot start in', () => ({ name: 'onboarding', status: 'completed' }), 'status'),
    invalid('in_progress without the eventId that started it', () => ({ name: 'onboarding', status: 'in_progress' }), 'eventId'),
    invalid('an input that is a list', () => ({ name: 'onboarding', status: 'pending', input: [1] }), 'input'),
    invalid('a timeoutAt that is not a date', () => ({ name: 'onboarding', status: 'pending', timeoutAt: 'soon' }), 'timeoutAt'),
    tooLarge('an input over 128 KiB', () => ({ name: 'onboarding', status: 'pending', input: big() })),
    missing('an unknown conversation', () => ({ name: 'onboarding', status: 'pending', conversationId: 'conv_nope' }), () => ['conv_nope']),
    missing('an unknown user', () => ({ name: 'onboarding', status: 'pending', userId: 'user_nope' }), () => ['user_nope']),
    missing('an unknown parent workflow', () => ({ name: 'onboarding', status: 'pending', parentWorkflowId: 'wf_nope' }), () => ['wf_nope']),
  ],
  getOrCreateWorkflow: [
    invalid('no name', () => ({ status: 'pending', tags: { a: 'b' } }), 'name'),
    invalid('an unknown status group', () => ({ name: 'onboarding', status: 'pending', discriminateByStatusGroup: 'running' }), 'discriminateByStatusGroup'),
    missing('an unknown conversation', () => ({ name: 'onboarding', status: 'pending', tags: { fresh: '1' }, conversationId: 'conv_nope' }), () => ['conv_nope']),
  ],
  getWorkflow: [...badIds(), missing('an unknown id', () => ({ id: 'wf_nope' }), () => ['wf_nope'])],
  updateWorkflow: [
    ...badIds(() => ({ status: 'paused' })),
    invalid('a status a workflow cannot be moved to', (s) => ({ id: s.workflowId, status: 'pending' }), 'status'),
    invalid('in_progress without the eventId that started it', (s) => ({ id: s.workflowId, status: 'in_progress' }), 'eventId'),
    invalid('an output that is text', (s) => ({ id: s.workflowId, output: 'done' }), 'output'),
    invalid('a tag whose value is a number', (s) => ({ id: s.workflowId, tags: { a: 1 } }), 'tags.a'),
    missing('an unknown id', () => ({ id: 'wf_nope', status: 'paused' }), () => ['wf_nope']),
    missing('an unknown user', (s) => ({ id: s.workflowId, userId: 'user_nope' }), () => ['user_nope']),
  ],
  deleteWorkflow: [...badIds(), missing('an unknown id', () => ({ id: 'wf_nope' }), () => ['wf_nope'])],
  listWorkflows: [
    ...badPaging(() => ({}), ['conversations', 'events', 'otherBotConversations']),
    invalid('an unknown status', () => ({ statuses: ['running'] }), 'statuses.0'),
    invalid('statuses that is text', () => ({ statuses: 'pending' }), 'statuses'),
    invalid('a token of all workflows used with a name filter', (s) => ({ name: 'onboarding', nextToken: s.tokens.workflows }), 'nextToken'),
  ],

  listTagValues: [
    invalid('no key', () => ({ type: 'conversation' }), 'key'),
    invalid('no type', () => ({ key: 'n' }), 'type'),
    invalid('an unknown type', () => ({ key: 'n', type: 'event' }), 'type'),
    ...badPaging(() => ({ key: 'n', type: 'conversation' }), ['conversations', 'users']),
    invalid('a token of another tag’s values', (s) => ({ key: 'other', type: 'conversation', nextToken: s.tokens.tagValues }), 'nextToken'),
    invalid('a token of the same tag on users', (s) => ({ key: 'n', type: 'user', nextToken: s.tokens.tagValues }), 'nextToken'),
  ],
  upsertFile: [
    invalid('no input at all', () => undefined, 'key'),
    invalid('no key', () => ({ size: 3 }), 'key'),
    invalid('a key that is a number', () => ({ key: 1, size: 3 }), 'key'),
    invalid('no size', () => ({ key: 'a.txt' }), 'size'),
    invalid('a negative size', () => ({ key: 'a.txt', size: -1 }), 'size'),
    invalid('a tag whose value is a number', () => ({ key: 'a.txt', size: 3, tags: { a: 1 } }), 'tags.a'),
    invalid('an unknown access policy', () => ({ key: 'a.txt', size: 3, accessPolicies: ['everyone'] }), 'accessPolicies.0'),
    invalid('an expiry in the past', () => ({ key: 'a.txt', size: 3, expiresAt: '2020-01-01T00:00:00Z' }), 'expiresAt'),
    invalid('metadata that is circular', () => ({ key: 'a.txt', size: 3, metadata: circular() }), 'metadata'),
    tooLarge('a size over the limit', () => ({ key: 'a.txt', size: MAX_FILE_BYTES + 1 })),
  ],
  uploadFile: [
    invalid('neither content nor url', () => ({ key: 'a.txt' }), 'content'),
    invalid('both content and url', () => ({ key: 'a.txt', content: 'x', url: 'http://127.0.0.1:1/x' }), 'content'),
    invalid('content that is a number', () => ({ key: 'a.txt', content: 5 }), 'content'),
    invalid('a url that is not one', () => ({ key: 'a.txt', url: 'somewhere' }), 'url'),
    invalid('an expiry past 90 days', () => ({ key: 'a.txt', content: 'x', expiresAt: '2030-01-01T00:00:00Z' }), 'expiresAt'),
    tooLarge('content over the limit', () => ({ key: 'a.txt', content: Buffer.alloc(MAX_FILE_BYTES + 1) })),
  ],
  getFile: [...badIds(), missing('an unknown id', () => ({ id: 'file_nope' }), () => ['file_nope'])],
  listFiles: [
    ...badPaging(() => ({}), ['conversations', 'users', 'filesByKey']),
    invalid('an unknown sortField', () => ({ sortField: 'name' }), 'sortField'),
    invalid('ids that is text', () => ({ ids: 'file_1' }), 'ids'),
    invalid('over 50 ids', () => ({ ids: Array.from({ length: 51 }, (_, i) => `file_${i}`) }), 'ids'),
    invalid('a tag filter with a number', () => ({ tags: { a: 1 } }), 'tags.a'),
  ],
  updateFileMetadata: [
    ...badIds(() => ({ tags: { a: 'b' } })),
    invalid('metadata that is text', (s) => ({ id: s.fileId, metadata: 'x' }), 'metadata'),
    invalid('a tag whose value is a number', (s) => ({ id: s.fileId, tags: { a: 1 } }), 'tags.a'),
    invalid('an expiry in the past', (s) => ({ id: s.fileId, expiresAt: '2020-01-01T00:00:00Z' }), 'expiresAt'),
    missing('an unknown id', () => ({ id: 'file_nope', tags: { a: 'b' } }), () => ['file_nope']),
  ],
  deleteFile: [...badIds(), missing('an unknown id', () => ({ id: 'file_nope' }), () => ['file_nope'])],

  listTables: [invalid('tags that are text', () => ({ tags: 'a' }), 'tags')],
  getTable: [
    invalid('no table', () => ({}), 'table'),
    invalid('a table that is a number', () => ({ table: 1 }), 'table'),
    missing('an undeclared table', () => ({ table: 'nopeTable' }), () => ['nopeTable']),
  ],
  getOrCreateTable: [
    invalid('no schema', () => ({ table: 'newTable' }), 'schema'),
    invalid('a new table whose schema has no columns', () => ({ table: 'newTable', schema: { type: 'object' } }), 'schema.properties'),
    invalid('a column of an unknown type', () => ({ table: 'newTable', schema: { properties: { a: { type: 'date' } } } }), 'schema.properties.a.type'),
    invalid('a name that does not end with Table', () => ({ table: 'notes', schema: { properties: {} } }), 'table', 'Table'),
  ],
  getTableRow: [
    invalid('no id', () => ({ table: 'notesTable' }), 'id'),
    invalid('an id that is text', () => ({ table: 'notesTable', id: 'one' }), 'id'),
    invalid('an id of 0', () => ({ table: 'notesTable', id: 0 }), 'id'),
    invalid('an id past the 15 digits of a key', () => ({ table: 'notesTable', id: 10 ** 15 }), 'id'),
    missing('an unknown row', () => ({ table: 'notesTable', id: 999 }), () => ['999']),
    missing('an undeclared table', () => ({ table: 'nopeTable', id: 1 }), () => ['nopeTable']),
  ],
  createTableRows: [
    invalid('no rows', () => ({ table: 'notesTable' }), 'rows'),
    invalid('no row at all', () => ({ table: 'notesTable', rows: [] }), 'rows'),
    invalid('a row that is text', () => ({ table: 'notesTable', rows: ['x'] }), 'rows.0'),
    invalid('a good row, then one whose column breaks the schema', () => ({ table: 'notesTable', rows: [{ title: 'ok' }, { title: 5 }] }), 'rows.1.title', 'notesTable'),
    invalid('a row without a required column', () => ({ table: 'notesTable', rows: [{ done: true }] }), 'rows.0.title'),
    tooLarge('a row over 4 KB', () => ({ table: 'notesTable', rows: [{ title: 'x'.repeat(5000) }] })),
    missing('an undeclared table', () => ({ table: 'nopeTable', rows: [{ title: 'x' }] }), () => ['nopeTable']),
  ],
  findTableRows: [
    invalid('an unknown operator', () => ({ table: 'notesTable', filter: { title: { $like: 'a%' } } }), 'filter.title.$like'),
    invalid('an unknown top-level operator', () => ({ table: 'notesTable', filter: { $nor: [] } }), 'filter.$nor'),
    invalid('$in with a value that is not a list', () => ({ table: 'notesTable', filter: { title: { $in: 'a' } } }), 'filter.title.$in'),
    invalid('a $regex that does not compile', () => ({ table: 'notesTable', filter: { title: { $regex: '(' } } }), 'filter.title.$regex'),
    invalid('$or that is not a list', () => ({ table: 'notesTable', filter: { $or: { title: 'a' } } }), 'filter.$or'),
    invalid('limit 0', () => ({ table: 'notesTable', limit: 0 }), 'limit'),
    invalid('limit 1001', () => ({ table: 'notesTable', limit: 1001 }), 'limit'),
    invalid('a group (aggregations are not simulated)', () => ({ table: 'notesTable', group: { title: 'key' } }), 'group'),
    missing('an undeclared table', () => ({ table: 'nopeTable' }), () => ['nopeTable']),
  ],
  updateTableRows: [
    invalid('a row without id', () => ({ table: 'notesTable', rows: [{ title: 'x' }] }), 'rows.0.id'),
    invalid('a change that breaks the schema', () => ({ table: 'notesTable', rows: [{ id: 1, title: 'ok' }, { id: 2, done: 'yes' }] }), 'rows.1.done'),
    missing('an unknown row, after a known one', () => ({ table: 'notesTable', rows: [{ id: 1, title: 'ok' }, { id: 999, title: 'x' }] }), () => ['999']),
  ],
  upsertTableRows: [
    invalid('no row at all', () => ({ table: 'notesTable', rows: [] }), 'rows'),
    invalid('a new row that breaks the schema', () => ({ table: 'notesTable', keyColumn: 'title', rows: [{ title: 'brand new', done: 1 }] }), 'rows.0.done'),
    missing('an undeclared table', () => ({ table: 'nopeTable', rows: [{ title: 'x' }] }), () => ['nopeTable']),
  ],
  deleteTableRows: [
    invalid('none of ids, filter and deleteAllRows', () => ({ table: 'notesTable' }), 'ids'),
    invalid('both ids and a filter', () => ({ table: 'notesTable', ids: [1], filter: { title: 'a' } }), 'ids'),
    invalid('a filter with an unknown operator', () => ({ table: 'notesTable', filter: { title: { $like: 'a' } } }), 'filter.title.$like'),
    invalid('ids that are text', () => ({ table: 'notesTable', ids: ['1'] }), 'ids.0'),
    missing('an undeclared table', () => ({ table: 'nopeTable', deleteAllRows: true }), () => ['nopeTable']),
  ],

  callAction: [
    invalid('no type', () => ({ input: {} }), 'type'),
    invalid('a type that is a number', () => ({ type: 5, input: {} }), 'type'),
    invalid('an input that is text', () => ({ type: 'slack:addReaction', input: 'hi' }), 'input'),
    tooLarge('an input over 128 KiB', () => ({ type: 'slack:addReaction', input: big() })),
  ],
  trackAnalytics: [
    invalid('no name', () => ({ count: 1 }), 'name'),
    invalid('no count', () => ({ name: 'signups' }), 'count'),
    invalid('a count given as text', () => ({ name: 'signups', count: '1' }), 'count'),
  ],
}

function cid(s: Scene) {
  return { conversationId: s.conversationId }
}

function stateAddressNoName(s: Scene) {
  return { type: 'conversation', id: s.conversationId }
}

const codes = { InvalidPayload: 400, ResourceNotFound: 404, PayloadTooLarge: 413 } as const

const states = {
  sessionData: { type: 'conversation' as const, schema: z.object({ startTime: z.string(), data: z.record(z.string(), z.any()) }), expiry: 3600 },
}

const tables = { notesTable: { schema: z.object({ title: z.string(), done: z.boolean().optional() }) } }

async function tokenOf(page: Promise<{ meta: { nextToken?: string } }>): Promise<string> {
  const { meta } = await page
  assert.ok(meta.nextToken, 'the scene has more than one page')
  return meta.nextToken
}

async function buildScene(client: Client, other: Client): Promise<Scene> {
  const users = []
  for (let i = 0; i < 3; i++) users.push((await client.createUser({ name: `u${i}` })).user)
  const outsider = (await client.createUser({ name: 'outsider' })).user
  const conversations = []
  for (let i = 0; i < 3; i++) {
    const { conversation } = await client.createConversation({ tags: { n: String(i) } })
    conversations.push(conversation)
    for (const u of users) await client.addParticipant({ id: conversation.id, userId: u.id })
  }
  const [c0, c1] = conversations as [(typeof conversations)[0], (typeof conversations)[0]]
  let messageId = ''
  for (const c of [c0, c1])
    for (const u of users) messageId = (await client.createMessage({ conversationId: c.id, userId: u.id, type: 'text', payload: { text: 'hi' }, tags: { lang: 'en' } })).message.id
  let eventId = ''
  for (let i = 0; i < 3; i++) eventId = (await client.createEvent({ type: 'tick', conversationId: c0.id })).event.id
  for (const c of [c0, c1])
    for (const name of ['notes', 'more', 'most']) await client.setState({ type: 'conversation', id: c.id, name, payload: { a: 1 } })
  await client.setState({ type: 'conversation', id: c0.id, name: 'sessionData', payload: { startTime: 'now', data: {} } })
  let workflowId = ''
  for (let i = 0; i < 2; i++) workflowId = (await client.createWorkflow({ name: 'onboarding', status: 'pending', conversationId: c0.id, tags: { n: String(i) } })).workflow.id

  for (let i = 0; i < 3; i++) await other.createConversation({})
  const otherConversation = (await other.createConversation({})).conversation
  for (const name of ['x', 'y']) await other.setState({ type: 'conversation', id: otherConversation.id, name, payload: {} })
  let fileId = ''
  for (const key of ['a.txt', 'b.txt']) fileId = (await client.uploadFile({ key, content: key })).file.id
  await client.createTableRows({ table: 'notesTable', rows: [{ title: 'a' }, { title: 'b' }] })

  return {
    conversationId: c0.id,
    otherConversationId: c1.id,
    userId: users[0]!.id,
    outsiderId: outsider.id,
    messageId,
    eventId,
    workflowId,
    fileId,
    tokens: {
      conversations: await tokenOf(client.listConversations({ limit: 1 })),
      conversationsByUpdate: await tokenOf(client.listConversations({ limit: 1, sortField: 'updatedAt' })),
      users: await tokenOf(client.listUsers({ limit: 1 })),
      messagesOfConversation: await tokenOf(client.listMessages({ conversationId: c0.id, limit: 1 })),
      messages: await tokenOf(client.listMessages({ limit: 1 })),
      events: await tokenOf(client.listEvents({ limit: 1 })),
      states: await tokenOf(client.listStates({ type: 'conversation', id: c0.id, limit: 1 })),
      participants: await tokenOf(client.listParticipants({ id: c0.id, limit: 1 })),
      otherBotConversations: await tokenOf(other.listConversations({ limit: 1 })),
      otherBotStates: await tokenOf(other.listStates({ type: 'conversation', id: otherConversation.id, limit: 1 })),
      workflows: await tokenOf(client.listWorkflows({ limit: 1 })),
      tagValues: await tokenOf(client.listTagValues({ key: 'n', type: 'conversation', limit: 1 })),
      files: await tokenOf(client.listFiles({ pageSize: 1 })),
      filesByKey: await tokenOf(client.listFiles({ pageSize: 1, sortField: 'key' })),
    },
  }
}

it('every client call has bad inputs in this suite, and this suite names no call the client lacks', () => {
  assert.deepEqual([...Object.keys(cases)].sort(), [...callNames].sort())
  for (const name of callNames) {
    assert.ok(cases[name].length > 0, `${name} has cases`)
    assert.ok(cases[name].some((c) => c.type === 'InvalidPayload'), `${name} has an InvalidPayload case`)
  }
})

for (const backend of backends) {
  describe(backend.name, { skip: backend.skip }, () => {
    let store: Store
    let close: () => Promise<void>
    let client: Client
    let scene: Scene

    before(async () => {
      ;({ store, close } = await backend.open())
      client = testClient(store, { botId: 'bot1', states, tables }).client
      const other = testClient(store, { botId: 'bot2' }).client
      scene = await buildScene(client, other)
    })
    after(() => close())

    for (const name of callNames) {
      describe(name, () => {
        for (const c of cases[name]) {
          it(`${c.why}: ${c.type}, and nothing is written`, async () => {
            const call = (client as unknown as Record<string, (input: unknown) => Promise<unknown>>)[name]!
            const input = c.input(scene)
            const beforeDump = await dump(store)
            await assert.rejects(call(input), (error: unknown) => {
              const e = error as { type?: unknown; code?: unknown; message?: unknown }
              assert.equal(e.type, c.type, `type of ${String(e.message)}`)
              assert.equal(e.code, codes[c.type])
              assert.equal(typeof e.message, 'string')
              const message = e.message as string
              assert.ok(message.length > 0)
              for (const word of c.words?.(scene) ?? [])
                assert.ok(message.includes(word), `${JSON.stringify(message)} should name ${JSON.stringify(word)}`)
              if (c.type === 'InvalidPayload') assert.ok(message.includes(name), `${JSON.stringify(message)} names the call`)
              return true
            })
            assert.deepEqual(await dump(store), beforeDump)
          })
        }
      })
    }

    it('after every bad call, the good ones still work on the same records', async () => {
      assert.equal((await client.getConversation({ id: scene.conversationId })).conversation.id, scene.conversationId)
      assert.equal((await client.listConversations({ limit: 100 })).conversations.length, 3)
      assert.equal((await client.listStates({ type: 'conversation', id: scene.conversationId })).states.length, 4)
      assert.deepEqual((await client.getState({ type: 'conversation', id: scene.conversationId, name: 'notes' })).state.payload, { a: 1 })
      const second = await client.listConversations({ limit: 1, nextToken: scene.tokens.conversations })
      assert.equal(second.conversations.length, 1)
    })
  })
}
