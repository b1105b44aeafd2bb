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
import { requireConversation } from './conversations.ts'
import { putJson, reindex } from './indexing.ts'
import { lastSegment, readPage, type PageSource } from './paging.ts'

/** A user, as Botpress's client returns it. */
export type User = {
  id: string
  createdAt: string
  updatedAt: string
  tags: Tags
  name?: string
  pictureUrl?: string
}

const createSchema = z.object({
  id: idSchema.optional(),
  name: z.string().max(200).optional(),
  pictureUrl: z.string().max(2000).optional(),
  integrationName: z.string().max(200).optional(),
  tags: tagsSchema.optional(),
})

const getOrCreateSchema = createSchema.extend({
  tags: tagsPatchSchema.optional(),
  discriminateByTags: z.array(z.string().min(1)).optional(),
})

const updateSchema = z.object({
  id: idSchema,
  name: z.string().max(200).nullable().optional(),
  pictureUrl: z.string().max(2000).nullable().optional(),
  tags: tagsPatchSchema.optional(),
})

const listSchema = z.object({
  ...pageSchema,
  conversationId: idSchema.optional(),
  tags: tagsSchema.optional(),
  sortDirection: z.enum(['asc', 'desc']).optional(),
})

const idOnly = z.object({ id: idSchema })

/** Every index entry of a user. */
export function userIndex(botId: string, user: User): string[] {
  const at = Date.parse(user.createdAt)
  return [
    layout.users.byTime(botId, at, user.id),
    ...Object.entries(user.tags).map(([name, value]) => layout.users.byTag(botId, name, value, at, user.id)),
  ]
}

/** Reads a user or raises ResourceNotFound. */
export async function requireUser(ctx: ClientContext, id: string): Promise<User> {
  const user = await ctx.store.getJson<User>(layout.users.record(ctx.botId, id))
  if (!user) throw new ResourceNotFoundError(`user ${JSON.stringify(id)} not found`)
  return user
}

/** Loads the users named at the end of index keys. */
export function loadUsers(ctx: ClientContext, indexKeys: string[]) {
  return ctx.store.getManyJson<User>(indexKeys.map((k) => layout.users.record(ctx.botId, lastSegment(k))))
}

/** The ops that store a user and move its index entries. */
export function writeUserOps(ctx: ClientContext, before: User | undefined, after: User): Op[] {
  return [
    putJson(layout.users.record(ctx.botId, after.id), after),
    ...reindex(before ? userIndex(ctx.botId, before) : [], userIndex(ctx.botId, after)),
  ]
}

/** A user as it will be stored. */
export function newUser(ctx: ClientContext, input: { id?: string; name?: string; pictureUrl?: string; tags?: Record<string, string | null> }): User {
  const now = nowIso(ctx)
  const user: User = { id: input.id ?? ctx.ids('user'), createdAt: now, updatedAt: now, tags: cleanTags(input.tags) }
  if (input.name !== undefined) user.name = input.name
  if (input.pictureUrl !== undefined) user.pictureUrl = input.pictureUrl
  return user
}

/** User operations of the API. */
export const userOps = {
  /** Fetches one user by id. */
  getUser: operation({
    route: { method: 'GET', path: '/v1/chat/users/{id}' },
    input: idOnly,
    run: async (ctx, { id }) => ({ user: await requireUser(ctx, id) }),
  }),

  /** Creates a user (with the given `id`, a localbot extension, or a new one); an existing id is AlreadyExists. */
  createUser: operation({
    route: { method: 'POST', path: '/v1/chat/users' },
    input: createSchema,
    run: (ctx, input) =>
      withLocks(ctx, [input.id === undefined ? undefined : ['u', input.id]], async () => {
        if (input.id !== undefined && (await ctx.store.get(layout.users.record(ctx.botId, input.id))) !== undefined)
          throw new AlreadyExistsError(`createUser: id: user ${JSON.stringify(input.id)} exists already`)
        const user = newUser(ctx, input)
        await ctx.store.batch(writeUserOps(ctx, undefined, user))
        return { user }
      }),
  }),

  /** Returns the user with `id`, or the oldest whose discriminating tags match, creating it when there is none. */
  getOrCreateUser: operation({
    route: { method: 'POST', path: '/v1/chat/users/get-or-create' },
    input: getOrCreateSchema,
    run: async (ctx, input) => {
      const { record, created } = await getOrCreate(ctx, {
        byId: input.id === undefined ? undefined : { target: ['u', input.id], find: () => ctx.store.getJson<User>(layout.users.record(ctx.botId, input.id!)) },
        tags: cleanTags(input.tags),
        discriminateByTags: input.discriminateByTags,
        index: { rangeOf: (name, value) => layout.users.byTagRange(ctx.botId, name, value), load: (keys) => loadUsers(ctx, keys) },
        create: async () => {
          const user = newUser(ctx, input)
          await ctx.store.batch(writeUserOps(ctx, undefined, user))
          return user
        },
      })
      return { user: record, meta: { created } }
    },
  }),

  /** Updates a user's name, picture and tags (`null` or `''` removes a tag). */
  updateUser: operation({
    route: { method: 'PUT', path: '/v1/chat/users/{id}' },
    input: updateSchema,
    run: (ctx, input) =>
      withLocks(ctx, [['u', input.id]], async () => {
        const before = await requireUser(ctx, input.id)
        const after: User = { ...before, tags: mergeTags(before.tags, input.tags), updatedAt: nowIso(ctx) }
        for (const field of ['name', 'pictureUrl'] as const) {
          const value = input[field]
          if (value === null) delete after[field]
          else if (value !== undefined) after[field] = value
        }
        await ctx.store.batch(writeUserOps(ctx, before, after))
        return { user: after }
      }),
  }),

  /** Lists users, newest first unless `sortDirection: 'asc'`; `conversationId` lists that conversation's participants (by id). */
  listUsers: operation({
    route: { method: 'GET', path: '/v1/chat/users' },
    input: listSchema,
    run: async (ctx, input) => {
      const tags = input.tags ? cleanTags(input.tags) : undefined
      const [firstTag] = Object.entries(tags ?? {})
      let range = layout.users.byTimeRange(ctx.botId)
      if (input.conversationId !== undefined) {
        await requireConversation(ctx, input.conversationId)
        range = layout.participants.membersRange(ctx.botId, input.conversationId)
      } else if (firstTag) range = layout.users.byTagRange(ctx.botId, firstTag[0], firstTag[1])
      const source: PageSource<User> = {
        range,
        reverse: input.conversationId === undefined && (input.sortDirection ?? 'desc') === 'desc',
        load: (keys) => loadUsers(ctx, keys),
        accept: (u) => tagsMatch(u.tags, tags),
      }
      const page = await readPage(ctx.store, 'listUsers', source, input)
      return { users: page.items, meta: pageMeta(page.nextToken) }
    },
  }),
}
