import { z } from 'zod'
import * as layout from '../store/layout.ts'
import type { Op } from '../store/store.ts'
import {
  cleanTags,
  idSchema,
  jsonPayload,
  mergeTags,
  nowIso,
  pageSchema,
  parseInput,
  tagsMatch,
  tagsPatchSchema,
  tagsSchema,
  withLocks,
  type ClientContext,
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
}

const createSchema = z.object({
  conversationId: idSchema,
  userId: idSchema,
  type: z.string().min(1).max(200),
  payload: z.unknown(),
  tags: tagsSchema.optional(),
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
  input: { conversationId: string; userId: string; type: string; payload: Record<string, any>; tags?: Tags; direction: Message['direction'] },
): Message {
  const now = nowIso(ctx)
  return {
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

/** Message calls of the client. */
export const messageCalls = {
  /**
   * Stores a message in a conversation. A message whose `userId` is the bot's id is outgoing (a reply);
   * any other `userId` must be a known user.
   */
  async createMessage(ctx: ClientContext, raw: z.input<typeof createSchema>) {
    const input = parseInput('createMessage', createSchema, raw)
    const { payload } = jsonPayload('createMessage', 'payload', input.payload)
    const fields = { ...input, payload }
    return withLocks(ctx, [['c', input.conversationId], input.userId === ctx.botId ? undefined : ['u', input.userId]], async () => {
      await requireConversation(ctx, input.conversationId)
      const outgoing = input.userId === ctx.botId
      if (!outgoing) await requireUser(ctx, input.userId)
      const message = newMessage(ctx, { ...fields, direction: outgoing ? 'outgoing' : 'incoming' })
      await ctx.store.batch(newMessageOps(ctx, message))
      return { message }
    })
  },

  /** Fetches one message by id. */
  async getMessage(ctx: ClientContext, raw: z.input<typeof idOnly>) {
    const { id } = parseInput('getMessage', idOnly, raw)
    return { message: await requireMessage(ctx, id) }
  },

  /** Updates a message's tags (`null` or `''` removes one) and replaces its payload when given. */
  async updateMessage(ctx: ClientContext, raw: z.input<typeof updateSchema>) {
    const input = parseInput('updateMessage', updateSchema, raw)
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

  /** Lists messages, newest first, of one conversation or of the whole bot, filtered by tags. */
  async listMessages(ctx: ClientContext, raw: z.input<typeof listSchema> = {}) {
    const input = parseInput('listMessages', listSchema, raw)
    const tags = input.tags ? cleanTags(input.tags) : undefined
    const [firstTag] = Object.entries(tags ?? {})
    let range = layout.messages.byTimeRange(ctx.botId)
    if (input.conversationId !== undefined) {
      await requireConversation(ctx, input.conversationId)
      range = layout.messages.byConversationRange(ctx.botId, input.conversationId)
    }
    else if (firstTag) range = layout.messages.byTagRange(ctx.botId, firstTag[0], firstTag[1])
    const page = await readPage(
      ctx.store,
      'listMessages',
      { range, reverse: true, load: (keys) => loadMessages(ctx, keys), accept: (m) => tagsMatch(m.tags, tags) },
      input,
    )
    return { messages: page.items, meta: page.nextToken === undefined ? {} : { nextToken: page.nextToken } }
  },

  /** Deletes one message. */
  async deleteMessage(ctx: ClientContext, raw: z.input<typeof idOnly>) {
    const { id } = parseInput('deleteMessage', idOnly, raw)
    return withLocks(ctx, [['m', id]], async () => {
      const message = await requireMessage(ctx, id)
      await ctx.store.batch(deleteMessagesOps(ctx.botId, [message]))
      return {}
    })
  },
}
