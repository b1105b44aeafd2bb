import * as layout from '../store/layout.ts'
import type { Op } from '../store/store.ts'
import { z } from 'zod'
import { idSchema, jsonPayload, nowIso, parseInput, tagsSchema, withLocks, type ClientContext } from './common.ts'
import { asConversation, newConversation, writeConversationOps, type Conversation } from './conversations.ts'
import { newEventOps, type Event } from './events.ts'
import { putIndex } from './indexing.ts'
import { newMessage, newMessageOps, type Message } from './messages.ts'
import { membershipKeys } from './participants.ts'
import { newUser, writeUserOps, type User } from './users.ts'

const incomingSchema = z.object({
  userId: idSchema,
  conversationId: idSchema,
  type: z.string().min(1).max(200),
  tags: z.object({ conversation: tagsSchema.optional(), user: tagsSchema.optional(), message: tagsSchema.optional() }).optional(),
})

/**
 * A message arriving from a user, as the faces hand it over: through an integration's channel, which `route`
 * chooses and checks once the conversation is read (a new conversation is created in it; an existing one is
 * given its own, and must stay in it); with that integration's tags for a new conversation and user, and for
 * the message.
 */
export type IncomingMessage = {
  userId: string
  conversationId: string
  type: string
  payload: unknown
  route?: (existing: { integration: string; channel: string } | undefined) => { integration: string; channel: string; tagPrefix?: string }
  tags?: { conversation?: Record<string, string>; user?: Record<string, string>; message?: Record<string, string> }
}

/**
 * Stores an incoming message in one batch: the user and the conversation when they are new (with those
 * ids), the user's participation, the message, and its `message_created` event, pending until the
 * message's handlers have run: the record that makes a message stored before a crash handled at the next
 * start (at least once). One read, one write, under the conversation's and the user's locks.
 */
export async function ingestMessage(
  ctx: ClientContext,
  input: IncomingMessage,
): Promise<{ user: User; conversation: Conversation; message: Message; event: Event }> {
  const ids = parseInput('message', incomingSchema, input)
  const { payload } = jsonPayload('message', 'payload', input.payload)
  return withLocks(ctx, [['c', input.conversationId], ['u', input.userId]], async () => {
    const [userJson, conversationJson, member] = await ctx.store.getMany([
      layout.users.record(ctx.botId, input.userId),
      layout.conversations.record(ctx.botId, input.conversationId),
      layout.participants.member(ctx.botId, input.conversationId, input.userId),
    ])
    const existing = conversationJson === undefined ? undefined : asConversation(JSON.parse(conversationJson) as Conversation)
    const where = input.route?.(existing && { integration: existing.integration, channel: existing.channel })
    // An integration's tags are named after it, as Botpress stores them (`telegram:chatId`).
    const tagged = (tags: Record<string, string> | undefined) =>
      tags && where?.tagPrefix ? Object.fromEntries(Object.entries(tags).map(([name, value]) => [name.includes(':') ? name : `${where.tagPrefix}:${name}`, value])) : tags
    const ops: Op[] = []
    let user: User
    if (userJson === undefined) {
      user = newUser(ctx, { id: input.userId, tags: tagged(ids.tags?.user) })
      ops.push(...writeUserOps(ctx, undefined, user))
    } else user = JSON.parse(userJson) as User
    let conversation: Conversation
    if (existing === undefined) {
      conversation = newConversation(ctx, { id: input.conversationId, integrationName: where?.integration, channel: where?.channel, tags: tagged(ids.tags?.conversation) })
      ops.push(...writeConversationOps(ctx, undefined, conversation, []))
    } else conversation = existing
    if (member === undefined) for (const key of membershipKeys(ctx, conversation, user.id)) ops.push(putIndex(key))
    const message = newMessage(ctx, { userId: ids.userId, conversationId: ids.conversationId, type: ids.type, payload, tags: tagged(ids.tags?.message), direction: 'incoming' })
    ops.push(...newMessageOps(ctx, message))
    // The message's own fields say where it is: the event's payload stays small.
    const event: Event = {
      id: ctx.ids('evt'),
      createdAt: nowIso(ctx),
      type: 'message_created',
      payload: {},
      conversationId: conversation.id,
      userId: user.id,
      messageId: message.id,
      status: 'pending',
      failureReason: null,
    }
    ops.push(...newEventOps(ctx, event))
    await ctx.store.batch(ops)
    return { user, conversation, message, event }
  })
}
