import { z } from 'zod'
import { childrenOf, key, timeSegment } from '../store/keys.ts'
import type { Op } from '../store/store.ts'
import {
  cleanTags,
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
  type Tags,
} from './common.ts'
import { requireConversation } from './conversations.ts'
import { ResourceNotFoundError } from './errors.ts'
import { dels, keep, putJson, reindex } from './indexing.ts'
import { lastSegment, readPage } from './paging.ts'
import { deleteOwnerStatesOps } from './states.ts'
import { requireUser } from './users.ts'

/** Where a workflow is in its life, as Botpress names it. */
export const workflowStatuses = ['pending', 'in_progress', 'listening', 'paused', 'completed', 'failed', 'timedout', 'cancelled'] as const
/** One of the workflow statuses. */
export type WorkflowStatus = (typeof workflowStatuses)[number]

/** The statuses of a workflow that has ended (getOrCreateWorkflow's `discriminateByStatusGroup: 'finished'`). */
const finished = new Set<WorkflowStatus>(['completed', 'failed', 'timedout', 'cancelled'])

/** A workflow without `timeoutAt` times out one day after its creation (Botpress's default is not published). */
export const DEFAULT_WORKFLOW_TIMEOUT_MS = 24 * 3600 * 1000

/** A workflow, as Botpress's client returns it. */
export type Workflow = {
  id: string
  name: string
  status: WorkflowStatus
  input: Record<string, any>
  output: Record<string, any>
  parentWorkflowId?: string
  conversationId?: string
  userId?: string
  createdAt: string
  updatedAt: string
  completedAt?: string
  failureReason?: string
  timeoutAt: string
  tags: Tags
}

/** Workflow fields listWorkflows filters on, with an index each. */
const indexedFields = ['name', 'status', 'conversationId', 'userId', 'parentWorkflowId'] as const

/**
 * Where workflows live: ['b', botId, kind, ...] as store/layout.ts lays out the other records (their place is
 * there; they are here while that file is not this change's to edit).
 */
export const workflowKeys = {
  record: (botId: string, id: string) => key('b', botId, 'w', id),
  byTime: (botId: string, at: number, id: string) => key('b', botId, 'W', timeSegment(at), id),
  byTimeRange: (botId: string) => childrenOf('b', botId, 'W'),
  byTag: (botId: string, name: string, value: string, at: number, id: string) => key('b', botId, 'WT', name, value, timeSegment(at), id),
  byTagRange: (botId: string, name: string, value: string) => childrenOf('b', botId, 'WT', name, value),
  byField: (botId: string, field: string, value: string, at: number, id: string) => key('b', botId, 'WF', field, value, timeSegment(at), id),
  /** An unfinished workflow's timeout, in time order across bots: the time keeper fires it (see runtime/time/keeper.ts). */
  timeout: (at: number, botId: string, id: string) => key('w', timeSegment(at), botId, id),
  timeoutRange: () => childrenOf('w'),
  byFieldRange: (botId: string, field: string, value: string) => childrenOf('b', botId, 'WF', field, value),
}

const timeoutSchema = z.iso.datetime({ offset: true })
/** Botpress's rule: a workflow created or moved `in_progress` names the event that started its processing. */
function eventIdWhenInProgress<S extends z.ZodType<{ status?: string; eventId?: string }>>(schema: S) {
  return schema.refine((w) => w.status !== 'in_progress' || w.eventId !== undefined, {
    message: 'required when status is in_progress',
    path: ['eventId'],
  })
}

const createFields = z.object({
  name: z.string().min(1).max(200),
  status: z.enum(['pending', 'in_progress', 'listening']),
  input: z.unknown().optional(),
  parentWorkflowId: idSchema.optional(),
  conversationId: idSchema.optional(),
  userId: idSchema.optional(),
  timeoutAt: timeoutSchema.optional(),
  tags: tagsSchema.optional(),
  eventId: idSchema.optional(),
})
const createSchema = eventIdWhenInProgress(createFields)

const getOrCreateSchema = eventIdWhenInProgress(
  createFields.extend({
    discriminateByTags: z.array(z.string().min(1)).optional(),
    discriminateByStatusGroup: z.enum(['active', 'finished']).optional(),
  }),
)

const updateSchema = eventIdWhenInProgress(
  z.object({
    id: idSchema,
    output: z.unknown().optional(),
    timeoutAt: timeoutSchema.optional(),
    status: z.enum(['completed', 'cancelled', 'listening', 'paused', 'failed', 'in_progress']).optional(),
    failureReason: z.string().max(2000).optional(),
    tags: tagsPatchSchema.optional(),
    userId: idSchema.optional(),
    eventId: idSchema.optional(),
  }),
)

const listSchema = z.object({
  ...pageSchema,
  tags: tagsSchema.optional(),
  conversationId: idSchema.optional(),
  userId: idSchema.optional(),
  parentWorkflowId: idSchema.optional(),
  statuses: z.array(z.enum(workflowStatuses)).max(workflowStatuses.length).optional(),
  name: z.string().min(1).max(200).optional(),
})

const idOnly = z.object({ id: idSchema })

/** Every index entry of a workflow. */
function workflowIndex(botId: string, workflow: Workflow): string[] {
  const at = Date.parse(workflow.createdAt)
  const keys = [workflowKeys.byTime(botId, at, workflow.id)]
  for (const [name, value] of Object.entries(workflow.tags)) keys.push(workflowKeys.byTag(botId, name, value, at, workflow.id))
  for (const field of indexedFields) {
    const value = workflow[field]
    if (value !== undefined) keys.push(workflowKeys.byField(botId, field, value, at, workflow.id))
  }
  if (!finished.has(workflow.status)) keys.push(workflowKeys.timeout(Date.parse(workflow.timeoutAt), botId, workflow.id))
  return keys
}

/**
 * Times a workflow out when it is unfinished and its `timeoutAt` has come by `now` (its timeout index entry
 * goes with the status, in one batch); resolves with it then, else undefined (finished, moved, or gone).
 */
export async function timeOutWorkflow(ctx: ClientContext, id: string, now: number): Promise<Workflow | undefined> {
  return withLocks(ctx, [['w', id]], async () => {
    const before = await ctx.store.getJson<Workflow>(workflowKeys.record(ctx.botId, id))
    if (!before || finished.has(before.status) || Date.parse(before.timeoutAt) > now) return undefined
    const at = nowIso(ctx)
    const after: Workflow = { ...before, status: 'timedout', updatedAt: at, completedAt: at }
    await ctx.store.batch(writeWorkflowOps(ctx.botId, before, after))
    return after
  })
}

function writeWorkflowOps(botId: string, before: Workflow | undefined, after: Workflow): Op[] {
  return [putJson(workflowKeys.record(botId, after.id), after), ...reindex(before ? workflowIndex(botId, before) : [], workflowIndex(botId, after))]
}

/** The ops that delete workflows with their index entries and their workflow states (for deletes and cascades). */
async function deleteWorkflowsOps(ctx: ClientContext, workflows: Workflow[]): Promise<Op[]> {
  const ops: Op[] = []
  for (const w of workflows)
    ops.push(...dels([workflowKeys.record(ctx.botId, w.id), ...workflowIndex(ctx.botId, w)]), ...(await deleteOwnerStatesOps(ctx, 'workflow', w.id)))
  return ops
}

/** The ops that delete every workflow of a conversation or a user, for deleteConversation's and deleteUser's cascades. */
export async function deleteWorkflowsOfOps(ctx: ClientContext, field: 'conversationId' | 'userId', id: string): Promise<Op[]> {
  return deleteWorkflowsOps(ctx, keep(await loadWorkflows(ctx, await ctx.store.keys(workflowKeys.byFieldRange(ctx.botId, field, id)))))
}

function loadWorkflows(ctx: ClientContext, indexKeys: string[]) {
  return ctx.store.getManyJson<Workflow>(indexKeys.map((k) => workflowKeys.record(ctx.botId, lastSegment(k))))
}

async function requireWorkflow(ctx: ClientContext, id: string): Promise<Workflow> {
  const workflow = await ctx.store.getJson<Workflow>(workflowKeys.record(ctx.botId, id))
  if (!workflow) throw new ResourceNotFoundError(`workflow ${JSON.stringify(id)} not found`)
  return workflow
}

/** Raises ResourceNotFound for a conversation, user or parent workflow that a workflow would name but that does not exist. */
async function requireRelated(ctx: ClientContext, input: { conversationId?: string; userId?: string; parentWorkflowId?: string }) {
  if (input.conversationId !== undefined) await requireConversation(ctx, input.conversationId)
  if (input.userId !== undefined) await requireUser(ctx, input.userId)
  if (input.parentWorkflowId !== undefined) await requireWorkflow(ctx, input.parentWorkflowId)
}

/** A new workflow, checked and stored. */
async function makeWorkflow(ctx: ClientContext, call: string, input: z.output<typeof createFields>): Promise<Workflow> {
  const { payload } = jsonPayload(call, 'input', input.input ?? {})
  await requireRelated(ctx, input)
  const now = ctx.clock.now()
  const workflow: Workflow = {
    id: ctx.ids('wf'),
    name: input.name,
    status: input.status,
    input: payload,
    output: {},
    createdAt: nowIso(ctx),
    updatedAt: nowIso(ctx),
    timeoutAt: input.timeoutAt === undefined ? new Date(now + DEFAULT_WORKFLOW_TIMEOUT_MS).toISOString() : new Date(input.timeoutAt).toISOString(),
    tags: cleanTags(input.tags),
  }
  for (const field of ['parentWorkflowId', 'conversationId', 'userId'] as const) if (input[field] !== undefined) workflow[field] = input[field]
  await ctx.store.batch(writeWorkflowOps(ctx.botId, undefined, workflow))
  return workflow
}

/** Workflow operations of the API. */
export const workflowOps = {
  /** Creates a workflow (`pending`, `in_progress` with the `eventId` that started it, or `listening`). */
  createWorkflow: operation({
    route: { method: 'POST', path: '/v1/chat/workflows' },
    input: createSchema,
    run: (ctx, input) => withLocks(ctx, [], async () => ({ workflow: await makeWorkflow(ctx, 'createWorkflow', input) })),
  }),

  /**
   * Returns the oldest workflow of that name whose tags named by `discriminateByTags` (all given tags when
   * absent) match, and whose status is in `discriminateByStatusGroup` when given; else creates it.
   */
  getOrCreateWorkflow: operation({
    route: { method: 'POST', path: '/v1/chat/workflows/get-or-create' },
    input: getOrCreateSchema,
    run: async (ctx, input) => {
      const group = input.discriminateByStatusGroup
      const { record, created } = await getOrCreate(ctx, {
        tags: cleanTags(input.tags),
        discriminateByTags: input.discriminateByTags,
        index: {
          rangeOf: (name, value) => workflowKeys.byTagRange(ctx.botId, name, value),
          load: (keys) => loadWorkflows(ctx, keys),
          accept: (w) => w.name === input.name && (group === undefined || finished.has(w.status) === (group === 'finished')),
        },
        create: () => makeWorkflow(ctx, 'getOrCreateWorkflow', input),
      })
      return { workflow: record, meta: { created } }
    },
  }),

  /** Fetches one workflow by id. */
  getWorkflow: operation({
    route: { method: 'GET', path: '/v1/chat/workflows/{id}' },
    input: idOnly,
    run: async (ctx, { id }) => ({ workflow: await requireWorkflow(ctx, id) }),
  }),

  /**
   * Updates a workflow: its output, status (a finished status sets `completedAt`), failure reason, timeout,
   * user and tags (`null` or `''` removes one).
   */
  updateWorkflow: operation({
    route: { method: 'PUT', path: '/v1/chat/workflows/{id}' },
    input: updateSchema,
    run: async (ctx, input) => {
      const output = input.output === undefined ? undefined : jsonPayload('updateWorkflow', 'output', input.output).payload
      return withLocks(ctx, [['w', input.id]], async () => {
        const before = await requireWorkflow(ctx, input.id)
        if (input.userId !== undefined) await requireUser(ctx, input.userId)
        const after: Workflow = { ...before, tags: mergeTags(before.tags, input.tags), updatedAt: nowIso(ctx) }
        if (output !== undefined) after.output = output
        if (input.timeoutAt !== undefined) after.timeoutAt = new Date(input.timeoutAt).toISOString()
        if (input.failureReason !== undefined) after.failureReason = input.failureReason
        if (input.userId !== undefined) after.userId = input.userId
        if (input.status !== undefined) {
          after.status = input.status
          if (!finished.has(input.status)) delete after.completedAt
          else if (!finished.has(before.status)) after.completedAt = after.updatedAt
        }
        await ctx.store.batch(writeWorkflowOps(ctx.botId, before, after))
        return { workflow: after }
      })
    },
  }),

  /** Deletes a workflow with its workflow states. */
  deleteWorkflow: operation({
    route: { method: 'DELETE', path: '/v1/chat/workflows/{id}' },
    input: idOnly,
    run: (ctx, { id }) =>
      withLocks(ctx, [['w', id], ['s', 'workflow', id]], async () => {
        await ctx.store.batch(await deleteWorkflowsOps(ctx, [await requireWorkflow(ctx, id)]))
        return {}
      }),
  }),

  /**
   * Lists workflows, newest first. The first tag filter, else the first of conversationId, userId,
   * parentWorkflowId, name and a single status, picks the index; the other filters are checked per workflow.
   */
  listWorkflows: operation({
    route: { method: 'GET', path: '/v1/chat/workflows' },
    input: listSchema,
    run: async (ctx, input) => {
      const tags = input.tags ? cleanTags(input.tags) : undefined
      const [firstTag] = Object.entries(tags ?? {})
      const statuses = input.statuses === undefined || input.statuses.length === 0 ? undefined : new Set(input.statuses)
      const fields: Partial<Record<(typeof indexedFields)[number], string>> = {
        conversationId: input.conversationId,
        userId: input.userId,
        parentWorkflowId: input.parentWorkflowId,
        name: input.name,
        status: statuses?.size === 1 ? [...statuses][0] : undefined,
      }
      const [firstField] = Object.entries(fields).filter(([, value]) => value !== undefined)
      let range = workflowKeys.byTimeRange(ctx.botId)
      if (firstTag) range = workflowKeys.byTagRange(ctx.botId, firstTag[0], firstTag[1])
      else if (firstField) range = workflowKeys.byFieldRange(ctx.botId, firstField[0], firstField[1]!)
      const page = await readPage(
        ctx.store,
        'listWorkflows',
        {
          range,
          reverse: true,
          load: (keys) => loadWorkflows(ctx, keys),
          accept: (w) =>
            tagsMatch(w.tags, tags) &&
            Object.entries(fields).every(([field, value]) => value === undefined || w[field as keyof Workflow] === value) &&
            (statuses === undefined || statuses.has(w.status)),
        },
        input,
      )
      return { workflows: page.items, meta: pageMeta(page.nextToken) }
    },
  }),
}
