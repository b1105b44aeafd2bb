import { z } from 'zod'
import * as layout from '../store/layout.ts'
import type { Op } from '../store/store.ts'
import {
  cleanTags,
  getOrCreate,
  idSchema,
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
  type Tags,
} from './common.ts'
import { AlreadyExistsError, ResourceNotFoundError } from './errors.ts'
import { putJson, reindex } from './indexing.ts'
import { lastSegment, readPage, type PageSource } from './paging.ts'

/** A conversation, as Botpress's client returns it. */
export type Conversation = {
  id: string
  createdAt: string
  updatedAt: string
  channel: string
  /** The integration it came through: `integrationName` when created with one, else `chat`. */
  integration: string
  tags: Tags
  currentTaskId?: string
}

/** What a conversation is in when created without `integrationName`: Botpress's own chat integration. */
export const DEFAULT_INTEGRATION = 'chat'
/** A conversation's channel when created without one. */
export const DEFAULT_CHANNEL = 'channel'

const createSchema = z.object({
  id: idSchema.optional(),
  channel: z.string().min(1).max(200).optional(),
  integrationName: z.string().min(1).max(200).optional(),
  tags: tagsSchema.optional(),
})

const getOrCreateSchema = createSchema.extend({
  tags: tagsPatchSchema.optional(),
  discriminateByTags: z.array(z.string().min(1)).optional(),
})

const updateSchema = z.object({
  id: idSchema,
  tags: tagsPatchSchema.optional(),
  currentTaskId: z.string().max(200).nullable().optional(),
})

const listSchema = z.object({
  ...pageSchema,
  tags: tagsSchema.optional(),
  participantIds: z.array(idSchema).max(20).optional(),
  sortField: z.enum(layout.sortFields).optional(),
  sortDirection: z.enum(['asc', 'desc']).optional(),
  integrationName: z.string().optional(),
  channel: z.string().optional(),
})

const idOnly = z.object({ id: idSchema })

/** Every index entry of a conversation with these participants. */
export function conversationIndex(botId: string, conversation: Conversation, participantIds: string[]): string[] {
  const keys: string[] = []
  for (const field of layout.sortFields) {
    const at = Date.parse(conversation[field])
    keys.push(layout.conversations.byTime(botId, field, at, conversation.id))
    for (const [name, value] of Object.entries(conversation.tags))
      keys.push(layout.conversations.byTag(botId, name, value, field, at, conversation.id))
    for (const userId of participantIds)
      keys.push(layout.conversations.byParticipant(botId, userId, field, at, conversation.id))
  }
  return keys
}

/** The ids of a conversation's participants. */
export async function participantIdsOf(ctx: ClientContext, conversationId: string): Promise<string[]> {
  const keys = await ctx.store.keys(layout.participants.membersRange(ctx.botId, conversationId))
  return keys.map(lastSegment)
}

/**
 * A stored conversation in Botpress's shape. Records written before localbot followed it hold
 * `integration: { id, name }`, or no integration at all.
 */
export function asConversation(stored: Conversation): Conversation
export function asConversation(stored: Conversation | undefined): Conversation | undefined
export function asConversation(stored: Conversation | undefined): Conversation | undefined {
  if (!stored || typeof stored.integration === 'string') return stored
  const old = stored.integration as { name?: unknown } | undefined
  return { ...stored, integration: typeof old?.name === 'string' ? old.name : DEFAULT_INTEGRATION }
}

/** Reads a conversation, if there is one. */
export async function findConversation(ctx: ClientContext, id: string): Promise<Conversation | undefined> {
  return asConversation(await ctx.store.getJson<Conversation>(layout.conversations.record(ctx.botId, id)))
}

/** Reads a conversation or raises ResourceNotFound. */
export async function requireConversation(ctx: ClientContext, id: string): Promise<Conversation> {
  const conversation = await findConversation(ctx, id)
  if (!conversation) throw new ResourceNotFoundError(`conversation ${JSON.stringify(id)} not found`)
  return conversation
}

/** The ops that store a conversation and move its index entries. */
export function writeConversationOps(
  ctx: ClientContext,
  before: Conversation | undefined,
  after: Conversation,
  participantIds: string[],
): Op[] {
  const oldIndex = before ? conversationIndex(ctx.botId, before, participantIds) : []
  return [
    putJson(layout.conversations.record(ctx.botId, after.id), after),
    ...reindex(oldIndex, conversationIndex(ctx.botId, after, participantIds)),
  ]
}

/** A conversation as it will be stored. */
export function newConversation(
  ctx: ClientContext,
  input: { id?: string; channel?: string; integrationName?: string; tags?: Record<string, string | null> },
): Conversation {
  const now = nowIso(ctx)
  return {
    id: input.id ?? ctx.ids('conv'),
    createdAt: now,
    updatedAt: now,
    channel: input.channel ?? DEFAULT_CHANNEL,
    integration: input.integrationName ?? DEFAULT_INTEGRATION,
    tags: cleanTags(input.tags),
  }
}

/** Loads the conversations named at the end of index keys. */
export async function loadConversations(ctx: ClientContext, indexKeys: string[]) {
  const stored = await ctx.store.getManyJson<Conversation>(indexKeys.map((k) => layout.conversations.record(ctx.botId, lastSegment(k))))
  return stored.map((c) => asConversation(c))
}

/** Conversation operations of the API. */
export const conversationOps = {
  /** Fetches one conversation by id. */
  getConversation: operation({
    route: { method: 'GET', path: '/v1/chat/conversations/{id}' },
    input: idOnly,
    run: async (ctx, { id }) => ({ conversation: await requireConversation(ctx, id) }),
  }),

  /** Creates a conversation (with the given `id`, a localbot extension, or a new one); an existing id is AlreadyExists. */
  createConversation: operation({
    route: { method: 'POST', path: '/v1/chat/conversations' },
    input: createSchema,
    run: (ctx, input) =>
      withLocks(ctx, [input.id === undefined ? undefined : ['c', input.id]], async () => {
        if (input.id !== undefined && (await ctx.store.get(layout.conversations.record(ctx.botId, input.id))) !== undefined)
          throw new AlreadyExistsError(`createConversation: id: conversation ${JSON.stringify(input.id)} exists already`)
        const conversation = newConversation(ctx, input)
        await ctx.store.batch(writeConversationOps(ctx, undefined, conversation, []))
        return { conversation }
      }),
  }),

  /**
   * Returns the conversation with `id`, or the oldest whose tags named by `discriminateByTags` (all given
   * tags when absent) match, creating it when there is none. `meta.created` says which.
   */
  getOrCreateConversation: operation({
    route: { method: 'POST', path: '/v1/chat/conversations/get-or-create' },
    input: getOrCreateSchema,
    run: async (ctx, input) => {
      const { record, created } = await getOrCreate(ctx, {
        byId: input.id === undefined ? undefined : { target: ['c', input.id], find: () => findConversation(ctx, input.id!) },
        tags: cleanTags(input.tags),
        discriminateByTags: input.discriminateByTags,
        index: {
          rangeOf: (name, value) => layout.conversations.byTagRange(ctx.botId, name, value, 'createdAt'),
          load: (keys) => loadConversations(ctx, keys),
        },
        create: async () => {
          const conversation = newConversation(ctx, input)
          await ctx.store.batch(writeConversationOps(ctx, undefined, conversation, []))
          return conversation
        },
      })
      return { conversation: record, meta: { created } }
    },
  }),

  /** Updates tags (`null` or `''` removes one) and the current task. */
  updateConversation: operation({
    route: { method: 'PUT', path: '/v1/chat/conversations/{id}' },
    input: updateSchema,
    run: (ctx, input) =>
      withLocks(ctx, [['c', input.id]], async () => {
        const before = await requireConversation(ctx, input.id)
        const after: Conversation = { ...before, tags: mergeTags(before.tags, input.tags), updatedAt: nowIso(ctx) }
        if (input.currentTaskId === null) delete after.currentTaskId
        else if (input.currentTaskId !== undefined) after.currentTaskId = input.currentTaskId
        const members = await participantIdsOf(ctx, input.id)
        await ctx.store.batch(writeConversationOps(ctx, before, after, members))
        return { conversation: after }
      }),
  }),

  /**
   * Lists conversations, newest first unless `sortDirection: 'asc'`. The first tag filter (or else the
   * first participant) picks the index; other filters are checked on each record.
   */
  listConversations: operation({
    route: { method: 'GET', path: '/v1/chat/conversations' },
    input: listSchema,
    run: async (ctx, input) => {
      const field = input.sortField ?? 'createdAt'
      const tags = input.tags ? cleanTags(input.tags) : undefined
      const [firstTag] = Object.entries(tags ?? {})
      const participantIds = input.participantIds ?? []
      let range = layout.conversations.byTimeRange(ctx.botId, field)
      if (firstTag) range = layout.conversations.byTagRange(ctx.botId, firstTag[0], firstTag[1], field)
      else if (participantIds[0] !== undefined)
        range = layout.conversations.byParticipantRange(ctx.botId, participantIds[0], field)
      const needsMembers = participantIds.length > (firstTag ? 0 : 1)
      const source: PageSource<Conversation> = {
        range,
        reverse: (input.sortDirection ?? 'desc') === 'desc',
        load: async (keys) => {
          const conversations = await loadConversations(ctx, keys)
          if (!needsMembers) return conversations
          // Only records that hold every participant come back.
          return Promise.all(
            conversations.map(async (c) => {
              if (!c) return undefined
              const members = await ctx.store.getMany(participantIds.map((u) => layout.participants.member(ctx.botId, c.id, u)))
              return members.every((m) => m !== undefined) ? c : undefined
            }),
          )
        },
        accept: (c) =>
          tagsMatch(c.tags, tags) &&
          (input.channel === undefined || c.channel === input.channel) &&
          (input.integrationName === undefined || c.integration === input.integrationName),
      }
      const page = await readPage(ctx.store, 'listConversations', source, input)
      return { conversations: page.items, meta: pageMeta(page.nextToken) }
    },
  }),
}
