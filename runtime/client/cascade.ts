import { z } from 'zod'
import * as layout from '../store/layout.ts'
import type { Op } from '../store/store.ts'
import { idSchema, operation, withBotLock, type ClientContext } from './common.ts'
import { conversationIndex, loadConversations, participantIdsOf, requireConversation } from './conversations.ts'
import { deleteEventsOps, loadEvents } from './events.ts'
import { dels, keep } from './indexing.ts'
import { deleteMessagesOps, loadMessages } from './messages.ts'
import { membershipKeys } from './participants.ts'
import { deleteOwnerStatesOps } from './states.ts'
import { requireUser, userIndex } from './users.ts'
import { deleteWorkflowsOfOps } from './workflows.ts'

const idOnly = z.object({ id: idSchema })

/** The ops that delete every message of an index range and every event of an event filter. */
async function messagesAndEventsOps(ctx: ClientContext, messageRange: ReturnType<typeof layout.messages.byUserRange>, eventFilter: 'conversationId' | 'userId', id: string): Promise<Op[]> {
  const messages = keep(await loadMessages(ctx, await ctx.store.keys(messageRange)))
  const events = keep(await loadEvents(ctx, await ctx.store.keys(layout.events.byFieldRange(ctx.botId, eventFilter, id))))
  return [...deleteMessagesOps(ctx.botId, messages), ...deleteEventsOps(ctx.botId, events)]
}

/** Operations that delete a record with everything that names it, in one atomic batch. */
export const cascadeOps = {
  /** Deletes a conversation with its participants, messages, events, workflows and conversation states. */
  deleteConversation: operation({
    route: { method: 'DELETE', path: '/v1/chat/conversations/{id}' },
    input: idOnly,
    run: (ctx, { id }) =>
      withBotLock(ctx, async () => {
        const conversation = await requireConversation(ctx, id)
        const members = await participantIdsOf(ctx, id)
        await ctx.store.batch([
          ...dels([layout.conversations.record(ctx.botId, id), ...conversationIndex(ctx.botId, conversation, [])]),
          ...members.flatMap((userId) => dels(membershipKeys(ctx, conversation, userId))),
          ...(await messagesAndEventsOps(ctx, layout.messages.byConversationRange(ctx.botId, id), 'conversationId', id)),
          ...(await deleteWorkflowsOfOps(ctx, 'conversationId', id)),
          ...(await deleteOwnerStatesOps(ctx, 'conversation', id)),
        ])
        return {}
      }),
  }),

  /** Deletes a user with its participations, the messages it wrote, its events, its workflows and its user states. */
  deleteUser: operation({
    route: { method: 'DELETE', path: '/v1/chat/users/{id}' },
    input: idOnly,
    run: (ctx, { id }) =>
      withBotLock(ctx, async () => {
        const user = await requireUser(ctx, id)
        const conversations = keep(await loadConversations(ctx, await ctx.store.keys(layout.participants.membershipsRange(ctx.botId, id))))
        await ctx.store.batch([
          ...dels([layout.users.record(ctx.botId, id), ...userIndex(ctx.botId, user)]),
          ...conversations.flatMap((c) => dels(membershipKeys(ctx, c, id))),
          ...(await messagesAndEventsOps(ctx, layout.messages.byUserRange(ctx.botId, id), 'userId', id)),
          ...(await deleteWorkflowsOfOps(ctx, 'userId', id)),
          ...(await deleteOwnerStatesOps(ctx, 'user', id)),
        ])
        return {}
      }),
  }),
}
