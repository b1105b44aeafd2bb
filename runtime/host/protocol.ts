/**
 * The handler protocol: what Botpress Cloud sends a bot, and what the bot answers. A bot is, on the wire,
 * `bot.handler(request, { client })`: `x-bp-operation` says what happened (`event_received` with `x-bp-type`
 * `message_created`, `state_expired`, `workflow_update` or an event type; `action_triggered`; `register`),
 * the body carries the records, and the bot calls back the Botpress API through the client it is given.
 */
import type { Conversation, Event, Message, State, User } from '../client/index.ts'

/** A request as `bot.handler` takes it (Botpress's `Request`). */
export type HandlerRequest = { method: string; path: string; query: string; headers: Record<string, string>; body?: string }
/** What `bot.handler` answers (Botpress's `Response`); nothing means 200. */
export type HandlerResponse = { status?: number; headers?: Record<string, string>; body?: string } | void

/** One operation the cloud sends: its headers' operation and type, and its body. */
export type Operation =
  | { operation: 'event_received'; type: 'message_created'; body: { event: Event & { payload: { message: Message; user: User; conversation: Conversation } } } }
  | { operation: 'event_received'; type: 'state_expired'; body: { event: Event & { payload: { state: State } } } }
  | { operation: 'event_received'; type: 'workflow_update'; body: { event: Event } }
  | { operation: 'event_received'; type: string; body: { event: Event } }
  | { operation: 'action_triggered'; type: string; body: { type: string; input: unknown } }
  | { operation: 'register'; type: 'register'; body?: undefined }

/** The request of an operation for one bot; `configuration` is the bot's configuration object. */
export function requestOf(botId: string, op: Operation, configuration: unknown = {}): HandlerRequest {
  return {
    method: 'POST',
    path: '/',
    query: '',
    headers: {
      'x-bot-id': botId,
      'x-bp-operation': op.operation,
      'x-bp-type': op.type,
      'x-bp-configuration': configurationHeader(configuration),
      'content-type': 'application/json',
    },
    body: op.body === undefined ? undefined : JSON.stringify(op.body),
  }
}

/** Configuration headers made, by the configuration object: a bot's is the same object call after call. */
const headers = new WeakMap<object, string>()

/** Base64 of `{ payload: JSON }`, as the cloud sends it; handlers read `ctx.configuration.payload`. */
function configurationHeader(configuration: unknown): string {
  const kept = typeof configuration === 'object' && configuration !== null ? headers.get(configuration) : undefined
  if (kept !== undefined) return kept
  const header = Buffer.from(JSON.stringify({ payload: JSON.stringify(configuration ?? {}) })).toString('base64')
  if (typeof configuration === 'object' && configuration !== null) headers.set(configuration, header)
  return header
}

/** A message's `message_created` event, with the records the handlers get. */
export function messageCreated(event: Event, records: { message: Message; user: User; conversation: Conversation }): Operation {
  return { operation: 'event_received', type: 'message_created', body: { event: { ...event, payload: records } } }
}

/**
 * A state's `state_expired` event. The cloud sends no stored event for it; its id is derived from the
 * state's address so that logs of one expiry agree.
 */
export function stateExpired(state: State, at: string): Operation {
  const event: Event & { payload: { state: State } } = {
    id: `evt_expired_${state.type}_${state.id}_${state.name}`,
    createdAt: at,
    type: 'state_expired',
    payload: { state },
    status: 'pending',
    failureReason: null,
  }
  if (state.type === 'conversation') event.conversationId = state.id
  if (state.type === 'user') event.userId = state.id
  return { operation: 'event_received', type: 'state_expired', body: { event } }
}

/** Any other event (a bot event, a cron's, an integration's). */
export function eventReceived(event: Event): Operation {
  return { operation: 'event_received', type: event.type, body: { event } }
}

/** What happened to a workflow, as the cloud tells the bot (`workflow_update`). */
export type WorkflowUpdate = 'workflow_started' | 'workflow_continued' | 'workflow_timedout'

/** A workflow's `workflow_update` event, with its conversation and user when it has them. */
export function workflowUpdate(update: WorkflowUpdate, records: { id: string; at: string; workflow: { id: string; conversationId?: string; userId?: string }; conversation?: Conversation; user?: User }): Operation {
  const event: Event = {
    id: records.id,
    createdAt: records.at,
    type: 'workflow_update',
    payload: { type: update, workflow: records.workflow, conversation: records.conversation, user: records.user },
    status: 'pending',
    failureReason: null,
  }
  if (records.workflow.conversationId) event.conversationId = records.workflow.conversationId
  if (records.workflow.userId) event.userId = records.workflow.userId
  return { operation: 'event_received', type: 'workflow_update', body: { event } }
}

/** A bot action called from outside. */
export function actionTriggered(type: string, input: unknown): Operation {
  return { operation: 'action_triggered', type, body: { type, input } }
}

/** The bot is (re)deployed. */
export function register(): Operation {
  return { operation: 'register', type: 'register' }
}

/** How a call ended, read from the response: 2xx is done; otherwise the error the body names. */
export function outcomeOf(response: HandlerResponse): { ok: true; body: unknown } | { ok: false; status: number; type: string; message: string } {
  const status = response?.status ?? 200
  let body: unknown
  try {
    body = response?.body ? JSON.parse(response.body) : undefined
  } catch {
    body = response?.body
  }
  if (status < 400) return { ok: true, body }
  const error = (typeof body === 'object' && body !== null ? body : {}) as { type?: string; message?: string }
  return { ok: false, status, type: error.type ?? 'Unknown', message: error.message ?? `the bot answered ${status}` }
}
