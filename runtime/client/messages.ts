import { z } from 'zod'
import * as layout from '../store/layout.ts'
import type { Op } from '../store/store.ts'
import {
  cleanTags,
  cutText,
  getOrCreate,
  idSchema,
  jsonPayload,
  mergeTags,
  nowIso,
  operation,
  pageMeta,
  pageSchema,
  tagsMatch,
  tagsPatchSchema,
  tagsSchema,
  withLocks,
  type ClientContext,
  type LockTarget,
  type Tags,
} from './common.ts'
import { requireConversation } from './conversations.ts'
import { ResourceNotFoundError } from './errors.ts'
import { dels, putJson, reindex } from './indexing.ts'
import { lastSegment, readPage } from './paging.ts'
import { requireUser } from './users.ts'

/** A message, as Botpress's client returns it. */
export type Message = {
  id: string
  createdAt: string
  updatedAt: string
  type: string
  payload: Record<string, any>
  direction: 'incoming' | 'outgoing'
  userId: string
  conversationId: string
  tags: Tags
  origin?: 'synthetic'
}

/** Botpress requires `tags` on every message, `{}` when there are none. */
const createSchema = z.object({
  conversationId: idSchema,
  userId: idSchema,
  type: z.string().min(1).max(200),
  payload: z.unknown(),
  tags: tagsSchema,
  origin: z.literal('synthetic').optional(),
})

const getOrCreateSchema = createSchema.extend({
  payload: z.unknown().optional(),
  tags: tagsPatchSchema,
  discriminateByTags: z.array(z.string().min(1)).optional(),
})

const updateSchema = z.object({ id: idSchema, tags: tagsPatchSchema.optional(), payload: z.unknown().optional() })

const listSchema = z.object({ ...pageSchema, conversationId: idSchema.optional(), tags: tagsSchema.optional() })

const idOnly = z.object({ id: idSchema })

/** Every index entry of a message. */
export function messageIndex(botId: string, message: Message): string[] {
  const at = Date.parse(message.createdAt)
  return [
    layout.messages.byTime(botId, at, message.id),
    layout.messages.byConversation(botId, message.conversationId, at, message.id),
    layout.messages.byUser(botId, message.userId, message.id),
    ...Object.entries(message.tags).map(([name, value]) => layout.messages.byTag(botId, name, value, at, message.id)),
  ]
}

/** The ops that delete messages and their index entries. */
export function deleteMessagesOps(botId: string, messages: Message[]): Op[] {
  return messages.flatMap((m) => dels([layout.messages.record(botId, m.id), ...messageIndex(botId, m)]))
}

/** A message as it will be stored. */
export function newMessage(
  ctx: ClientContext,
  input: {
    conversationId: string
    userId: string
    type: string
    payload: Record<string, any>
    tags?: Record<string, string | null>
    origin?: 'synthetic'
    direction: Message['direction']
  },
): Message {
  const now = nowIso(ctx)
  const message: Message = {
    id: ctx.ids('msg'),
    createdAt: now,
    updatedAt: now,
    type: input.type,
    payload: input.payload,
    direction: input.direction,
    userId: input.userId,
    conversationId: input.conversationId,
    tags: cleanTags(input.tags),
  }
  if (input.origin !== undefined) message.origin = input.origin
  return message
}

/** What a message says, for logs and summaries: its text (or markdown), else its type in brackets; cut to `max`. */
export function messageText(message: Pick<Message, 'type' | 'payload'>, max: number): string {
  const payload = message.payload as Record<string, unknown>
  const text = typeof payload.text === 'string' ? payload.text : typeof payload.markdown === 'string' ? payload.markdown : `[${message.type}]`
  return cutText(text, max)
}

/** The ops that store a new message with its index entries. */
export function newMessageOps(ctx: ClientContext, message: Message): Op[] {
  return [putJson(layout.messages.record(ctx.botId, message.id), message), ...reindex([], messageIndex(ctx.botId, message))]
}

/** Loads the messages named at the end of index keys. */
export function loadMessages(ctx: ClientContext, indexKeys: string[]) {
  return ctx.store.getManyJson<Message>(indexKeys.map((k) => layout.messages.record(ctx.botId, lastSegment(k))))
}

async function requireMessage(ctx: ClientContext, id: string): Promise<Message> {
  const message = await ctx.store.getJson<Message>(layout.messages.record(ctx.botId, id))
  if (!message) throw new ResourceNotFoundError(`message ${JSON.stringify(id)} not found`)
  return message
}

/**
 * Stores a new message, once its conversation is found and, unless the bot writes it (an outgoing message,
 * a reply), its user. Callers hold the message's locks.
 */
async function makeMessage(ctx: ClientContext, input: z.output<typeof getOrCreateSchema>, payload: Record<string, any>): Promise<Message> {
  await requireConversation(ctx, input.conversationId)
  const outgoing = input.userId === ctx.botId
  if (!outgoing) await requireUser(ctx, input.userId)
  // Field by field, not `{ ...input, payload, direction }`: see mergeFields (log.ts) for what adding to a spread costs.
  const message = newMessage(ctx, { conversationId: input.conversationId, userId: input.userId, type: input.type, payload, tags: input.tags, origin: input.origin, direction: outgoing ? 'outgoing' : 'incoming' })
  await ctx.store.batch(newMessageOps(ctx, message))
  return message
}

/** The locks of a message write: its conversation, and its user unless the bot writes it. */
function messageLocks(ctx: ClientContext, input: { conversationId: string; userId: string }): (LockTarget | undefined)[] {
  return [['c', input.conversationId], input.userId === ctx.botId ? undefined : ['u', input.userId]]
}

/** Message operations of the API. */
export const messageOps = {
  /**
   * Stores a message in a conversation. A message whose `userId` is the bot's id is outgoing (a reply);
   * any other `userId` must be a known user.
   */
  createMessage: operation({
    route: { method: 'POST', path: '/v1/chat/messages' },
    input: createSchema,
    run: async (ctx, input) => {
      const { payload } = jsonPayload('createMessage', 'payload', input.payload)
      return withLocks(ctx, messageLocks(ctx, input), async () => ({ message: await makeMessage(ctx, input, payload) }))
    },
  }),

  /**
   * Returns the oldest message whose tags named by `discriminateByTags` (all given tags when absent) match,
   * creating it in its conversation when there is none. `meta.created` says which.
   */
  getOrCreateMessage: operation({
    route: { method: 'POST', path: '/v1/chat/messages/get-or-create' },
    input: getOrCreateSchema,
    run: async (ctx, input) => {
      const { payload } = jsonPayload('getOrCreateMessage', 'payload', input.payload ?? {})
      const { record, created } = await getOrCreate(ctx, {
        tags: cleanTags(input.tags),
        discriminateByTags: input.discriminateByTags,
        index: { rangeOf: (name, value) => layout.messages.byTagRange(ctx.botId, name, value), load: (keys) => loadMessages(ctx, keys) },
        create: () => makeMessage(ctx, input, payload),
      })
      return { message: record, meta: { created } }
    },
  }),

  /** Fetches one message by id. */
  getMessage: operation({
    route: { method: 'GET', path: '/v1/chat/messages/{id}' },
    input: idOnly,
    run: async (ctx, { id }) => ({ message: await requireMessage(ctx, id) }),
  }),

  /** Updates a message's tags (`null` or `''` removes one) and replaces its payload when given. */
  updateMessage: operation({
    route: { method: 'PUT', path: '/v1/chat/messages/{id}' },
    input: updateSchema,
    run: async (ctx, input) => {
      const payload = input.payload === undefined ? undefined : jsonPayload('updateMessage', 'payload', input.payload).payload
      return withLocks(ctx, [['m', input.id]], async () => {
        const before = await requireMessage(ctx, input.id)
        const after: Message = { ...before, tags: mergeTags(before.tags, input.tags), updatedAt: nowIso(ctx) }
        if (payload !== undefined) after.payload = payload
        await ctx.store.batch([
          putJson(layout.messages.record(ctx.botId, after.id), after),
          ...reindex(messageIndex(ctx.botId, before), messageIndex(ctx.botId, after)),
        ])
        return { message: after }
      })
    },
  }),

  /** Lists messages, newest first, of one conversation or of the whole bot, filtered by tags. */
  listMessages: operation({
    route: { method: 'GET', path: '/v1/chat/messages' },
    input: listSchema,
    run: async (ctx, input) => {
      const tags = input.tags ? cleanTags(input.tags) : undefined
      const [firstTag] = Object.entries(tags ?? {})
      let range = layout.messages.byTimeRange(ctx.botId)
      if (input.conversationId !== undefined) {
        await requireConversation(ctx, input.conversationId)
        range = layout.messages.byConversationRange(ctx.botId, input.conversationId)
      } else if (firstTag) range = layout.messages.byTagRange(ctx.botId, firstTag[0], firstTag[1])
      const page = await readPage(
        ctx.store,
        'listMessages',
        { range, reverse: true, load: (keys) => loadMessages(ctx, keys), accept: (m) => tagsMatch(m.tags, tags) },
        input,
      )
      return { messages: page.items, meta: pageMeta(page.nextToken) }
    },
  }),

  /** Deletes one message. */
  deleteMessage: operation({
    route: { method: 'DELETE', path: '/v1/chat/messages/{id}' },
    input: idOnly,
    run: (ctx, { id }) =>
      withLocks(ctx, [['m', id]], async () => {
        await ctx.store.batch(deleteMessagesOps(ctx.botId, [await requireMessage(ctx, id)]))
        return {}
      }),
  }),
}
