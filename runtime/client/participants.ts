import { z } from 'zod'
import * as layout from '../store/layout.ts'
import { idSchema, operation, pageMeta, pageSchema, withLocks, type ClientContext } from './common.ts'
import { requireConversation } from './conversations.ts'
import { ResourceNotFoundError } from './errors.ts'
import { putIndex } from './indexing.ts'
import { readPage } from './paging.ts'
import { loadUsers, requireUser } from './users.ts'

const memberSchema = z.object({ id: idSchema, userId: idSchema })
const listSchema = z.object({ id: idSchema, ...pageSchema })

/** The keys that make `userId` a participant of the conversation: both directions and the conversation's index. */
export function membershipKeys(ctx: ClientContext, conversation: { id: string; createdAt: string; updatedAt: string }, userId: string) {
  return [
    layout.participants.member(ctx.botId, conversation.id, userId),
    layout.participants.membership(ctx.botId, userId, conversation.id),
    ...layout.sortFields.map((field) =>
      layout.conversations.byParticipant(ctx.botId, userId, field, Date.parse(conversation[field]), conversation.id),
    ),
  ]
}

function notMember(conversationId: string, userId: string) {
  return new ResourceNotFoundError(`user ${JSON.stringify(userId)} is not a participant of conversation ${JSON.stringify(conversationId)}`)
}

async function isMember(ctx: ClientContext, conversationId: string, userId: string) {
  return (await ctx.store.get(layout.participants.member(ctx.botId, conversationId, userId))) !== undefined
}

/** Adds `userId` to a conversation unless it is there already. Callers hold the bot's write lock. */
export async function addParticipantLocked(ctx: ClientContext, conversationId: string, userId: string) {
  const conversation = await requireConversation(ctx, conversationId)
  const user = await requireUser(ctx, userId)
  if (!(await isMember(ctx, conversationId, userId)))
    await ctx.store.batch(membershipKeys(ctx, conversation, userId).map(putIndex))
  return user
}

/** Participant operations of the API. */
export const participantOps = {
  /** Adds a user to a conversation; adding a participant twice is harmless. */
  addParticipant: operation({
    route: { method: 'POST', path: '/v1/chat/conversations/{id}/participants' },
    input: memberSchema,
    run: (ctx, { id, userId }) =>
      withLocks(ctx, [['c', id], ['u', userId]], async () => ({ participant: await addParticipantLocked(ctx, id, userId) })),
  }),

  /** Returns a participant of a conversation, or ResourceNotFound. */
  getParticipant: operation({
    route: { method: 'GET', path: '/v1/chat/conversations/{id}/participants/{userId}' },
    input: memberSchema,
    run: async (ctx, { id, userId }) => {
      await requireConversation(ctx, id)
      if (!(await isMember(ctx, id, userId))) throw notMember(id, userId)
      return { participant: await requireUser(ctx, userId) }
    },
  }),

  /** Lists a conversation's participants, by user id. */
  listParticipants: operation({
    route: { method: 'GET', path: '/v1/chat/conversations/{id}/participants' },
    input: listSchema,
    run: async (ctx, input) => {
      await requireConversation(ctx, input.id)
      const page = await readPage(
        ctx.store,
        'listParticipants',
        { range: layout.participants.membersRange(ctx.botId, input.id), load: (keys) => loadUsers(ctx, keys) },
        input,
      )
      return { participants: page.items, meta: pageMeta(page.nextToken) }
    },
  }),

  /** Removes a user from a conversation. */
  removeParticipant: operation({
    route: { method: 'DELETE', path: '/v1/chat/conversations/{id}/participants/{userId}' },
    input: memberSchema,
    run: (ctx, { id, userId }) =>
      withLocks(ctx, [['c', id], ['u', userId]], async () => {
        const conversation = await requireConversation(ctx, id)
        if (!(await isMember(ctx, id, userId))) throw notMember(id, userId)
        await ctx.store.batch(membershipKeys(ctx, conversation, userId).map((key) => ({ type: 'del', key })))
        return {}
      }),
  }),
}
