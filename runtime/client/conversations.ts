import { z } from 'zod'
import * as layout from '../store/layout.ts'
import type { Op } from '../store/store.ts'
import {
  cleanTags,
  discriminatingTags,
  findOldestByTags,
  idSchema,
  mergeTags,
  nowIso,
  pageSchema,
  parseInput,
  tagsMatch,
  tagsPatchSchema,
  tagsSchema,
  withBotLock,
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
  tags: Tags
  integration?: { id: string; name: string }
  currentTaskId?: string
}

const createSchema = z.object({
  id: idSchema.optional(),
  channel: z.string().min(1).max(200).optional(),
  integrationName: z.string().min(1).max(200).optional(),
  tags: tagsSchema.optional(),
})

const getOrCreateSchema = createSchema.extend({ discriminateByTags: z.array(z.string().min(1)).optional() })

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

/** Reads a conversation or raises ResourceNotFound. */
export async function requireConversation(ctx: ClientContext, id: string): Promise<Conversation> {
  const conversation = await ctx.store.getJson<Conversation>(layout.conversations.record(ctx.botId, id))
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
export function newConversation(ctx: ClientContext, input: z.output<typeof createSchema>): Conversation {
  const now = nowIso(ctx)
  const conversation: Conversation = {
    id: input.id ?? ctx.ids('conv'),
    createdAt: now,
    updatedAt: now,
    channel: input.channel ?? 'channel',
    tags: cleanTags(input.tags),
  }
  if (input.integrationName) conversation.integration = { id: input.integrationName, name: input.integrationName }
  return conversation
}

function loadConversations(ctx: ClientContext, indexKeys: string[]) {
  return ctx.store.getManyJson<Conversation>(indexKeys.map((k) => layout.conversations.record(ctx.botId, lastSegment(k))))
}

/** Conversation calls of the client. */
export const conversationCalls = {
  /** Fetches one conversation by id. */
  async getConversation(ctx: ClientContext, raw: z.input<typeof idOnly>) {
    const { id } = parseInput('getConversation', idOnly, raw)
    return { conversation: await requireConversation(ctx, id) }
  },

  /** Creates a conversation (with the given `id`, a localbot extension, or a new one); an existing id is AlreadyExists. */
  async createConversation(ctx: ClientContext, raw: z.input<typeof createSchema>) {
    const input = parseInput('createConversation', createSchema, raw)
    return withLocks(ctx, [input.id === undefined ? undefined : ['c', input.id]], async () => {
      if (input.id !== undefined && (await ctx.store.get(layout.conversations.record(ctx.botId, input.id))) !== undefined)
        throw new AlreadyExistsError(`createConversation: id: conversation ${JSON.stringify(input.id)} exists already`)
      const conversation = newConversation(ctx, input)
      await ctx.store.batch(writeConversationOps(ctx, undefined, conversation, []))
      return { conversation }
    })
  },

  /**
   * Returns the conversation with `id`, or the first whose tags named by `discriminateByTags` (all given
   * tags when absent) match, creating it when there is none. `meta.created` says which.
   */
  async getOrCreateConversation(ctx: ClientContext, raw: z.input<typeof getOrCreateSchema>) {
    const input = parseInput('getOrCreateConversation', getOrCreateSchema, raw)
    // Found by id, one conversation is at stake; found by tags, any of them could be.
    const lock = input.id === undefined ? withBotLock : <T>(c: ClientContext, fn: () => Promise<T>) => withLocks(c, [['c', input.id!]], fn)
    return lock(ctx, async () => {
      const tags = cleanTags(input.tags)
      let existing: Conversation | undefined
      if (input.id !== undefined) {
        existing = await ctx.store.getJson<Conversation>(layout.conversations.record(ctx.botId, input.id))
      } else {
        existing = await findOldestByTags(ctx, discriminatingTags(tags, input.discriminateByTags), {
          rangeOf: (name, value) => layout.conversations.byTagRange(ctx.botId, name, value, 'createdAt'),
          load: (keys) => loadConversations(ctx, keys),
        })
      }
      if (existing) return { conversation: existing, meta: { created: false } }
      const conversation = newConversation(ctx, input)
      await ctx.store.batch(writeConversationOps(ctx, undefined, conversation, []))
      return { conversation, meta: { created: true } }
    })
  },

  /** Updates tags (`null` or `''` removes one) and the current task. */
  async updateConversation(ctx: ClientContext, raw: z.input<typeof updateSchema>) {
    const input = parseInput('updateConversation', updateSchema, raw)
    return withLocks(ctx, [['c', input.id]], async () => {
      const before = await requireConversation(ctx, input.id)
      const after: Conversation = { ...before, tags: mergeTags(before.tags, input.tags), updatedAt: nowIso(ctx) }
      if (input.currentTaskId === null) delete after.currentTaskId
      else if (input.currentTaskId !== undefined) after.currentTaskId = input.currentTaskId
      const members = await participantIdsOf(ctx, input.id)
      await ctx.store.batch(writeConversationOps(ctx, before, after, members))
      return { conversation: after }
    })
  },

  /**
   * Lists conversations, newest first unless `sortDirection: 'asc'`. The first tag filter (or else the
   * first participant) picks the index; other filters are checked on each record.
   */
  async listConversations(ctx: ClientContext, raw: z.input<typeof listSchema> = {}) {
    const input = parseInput('listConversations', listSchema, raw)
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
        (input.integrationName === undefined || c.integration?.name === input.integrationName),
    }
    const page = await readPage(ctx.store, 'listConversations', source, input)
    return { conversations: page.items, meta: page.nextToken === undefined ? {} : { nextToken: page.nextToken } }
  },
}
