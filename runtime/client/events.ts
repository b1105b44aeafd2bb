import { z } from 'zod'
import * as layout from '../store/layout.ts'
import type { Op } from '../store/store.ts'
import { idSchema, jsonPayload, nowIso, operation, pageMeta, pageSchema, withLocks, type ClientContext, type LockTarget } from './common.ts'
import { requireConversation } from './conversations.ts'
import { InvalidPayloadError, ResourceNotFoundError } from './errors.ts'
import { dels, keep, putIndex, putJson, reindex } from './indexing.ts'
import { lastSegment, readPage } from './paging.ts'
import { requireUser } from './users.ts'

/** Where an event is in its life. */
export const eventStatuses = ['pending', 'processed', 'ignored', 'failed', 'scheduled', 'canceled'] as const
/** One of the event statuses. */
export type EventStatus = (typeof eventStatuses)[number]

/** An event, as Botpress's client returns it. */
export type Event = {
  id: string
  createdAt: string
  type: string
  payload: Record<string, any>
  conversationId?: string
  userId?: string
  messageId?: string
  status: EventStatus
  failureReason: string | null
}

const scheduleSchema = z
  .object({
    delay: z.number().int().min(0).max(366 * 24 * 3600 * 1000).optional(),
    dateTime: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((s) => (s.delay === undefined) !== (s.dateTime === undefined), 'give either delay (ms) or dateTime')

const createSchema = z.object({
  type: z.string().min(1).max(200),
  payload: z.unknown().optional(),
  schedule: scheduleSchema.optional(),
  conversationId: idSchema.optional(),
  userId: idSchema.optional(),
  messageId: idSchema.optional(),
})

const listSchema = z.object({
  ...pageSchema,
  type: z.string().min(1).max(200).optional(),
  conversationId: idSchema.optional(),
  userId: idSchema.optional(),
  messageId: idSchema.optional(),
  status: z.enum(eventStatuses).optional(),
})

const idOnly = z.object({ id: idSchema })

/** Every index entry of an event; a scheduled one also waits in the due index. */
export function eventIndex(botId: string, event: Event & { dueAt?: number }): string[] {
  const at = Date.parse(event.createdAt)
  const keys = [layout.events.byTime(botId, at, event.id)]
  for (const field of layout.eventFilters) {
    const entry = fieldEntry(botId, field, event, at)
    if (entry !== undefined) keys.push(entry)
  }
  const due = dueEntry(botId, event)
  if (due !== undefined) keys.push(due)
  return keys
}

/** An event's entry in the index of one filter field, if it has that field. */
function fieldEntry(botId: string, field: layout.EventFilter, event: Event, at: number): string | undefined {
  const value = event[field]
  return value === undefined ? undefined : layout.events.byField(botId, field, value, at, event.id)
}

/** A scheduled event's entry in the due index. */
function dueEntry(botId: string, event: Event & { dueAt?: number }): string | undefined {
  return event.status === 'scheduled' && event.dueAt !== undefined ? layout.events.due(event.dueAt, botId, event.id) : undefined
}

/** Moves an index entry from `old` to `now` (either may be none). */
function moveEntry(ops: Op[], old: string | undefined, now: string | undefined): void {
  if (old === now) return
  if (old !== undefined) ops.push({ type: 'del', key: old })
  if (now !== undefined) ops.push(putIndex(now))
}

/** The ops that store an event (new when `before` is undefined) and move its index entries. */
function writeEventOps(botId: string, before: (Event & { dueAt?: number }) | undefined, after: Event & { dueAt?: number }): Op[] {
  const record = putJson(layout.events.record(botId, after.id), after)
  if (!before || before.id !== after.id || before.createdAt !== after.createdAt) return [record, ...reindex(before ? eventIndex(botId, before) : [], eventIndex(botId, after))]
  // The same event at the same time (a new status, as every handled message's event gets): only the
  // entries of the fields that changed move, as reindex of both whole indexes would have it.
  const ops: Op[] = [record]
  const at = Date.parse(after.createdAt)
  for (const field of layout.eventFilters)
    if (before[field] !== after[field]) moveEntry(ops, fieldEntry(botId, field, before, at), fieldEntry(botId, field, after, at))
  moveEntry(ops, dueEntry(botId, before), dueEntry(botId, after))
  return ops
}

/** The ops that delete events with their index entries (and their place in the due index). */
export function deleteEventsOps(botId: string, events: Event[]): Op[] {
  return events.flatMap((e) => dels([layout.events.record(botId, e.id), ...eventIndex(botId, e)]))
}

/** Loads the events named at the end of index keys. */
export function loadEvents(ctx: ClientContext, indexKeys: string[]) {
  return ctx.store.getManyJson<Event>(indexKeys.map((k) => layout.events.record(ctx.botId, lastSegment(k))))
}

async function requireEvent(ctx: ClientContext, id: string): Promise<Event> {
  const event = await ctx.store.getJson<Event>(layout.events.record(ctx.botId, id))
  if (!event) throw new ResourceNotFoundError(`event ${JSON.stringify(id)} not found`)
  return event
}

/** Stored events keep their due time privately; callers see Botpress's shape. */
function publicEvent(event: Event & { dueAt?: number }): Event {
  const { dueAt: _dueAt, ...rest } = event
  return rest
}

/** A new event of `type`, pending, with no conversation, user or message (createEvent adds what it is given). */
export function newEvent(ctx: ClientContext, type: string, payload: Record<string, unknown>): Event {
  return { id: ctx.ids('evt'), createdAt: nowIso(ctx), type, payload, status: 'pending', failureReason: null }
}

/** The ops that store a new event. */
export function newEventOps(ctx: ClientContext, event: Event): Op[] {
  return writeEventOps(ctx.botId, undefined, event)
}

/**
 * Moves an event to a new status (dispatch marks events processed or failed). `known` is the event as
 * stored, when the caller holds it (its conversation's turn): it saves a read.
 */
export async function setEventStatus(ctx: ClientContext, id: string, status: EventStatus, failureReason: string | null = null, known?: Event) {
  return withLocks(ctx, [['e', id]], async () => {
    const before = known ?? (await requireEvent(ctx, id))
    const after = { ...before, status, failureReason }
    await ctx.store.batch(writeEventOps(ctx.botId, before, after))
    return publicEvent(after)
  })
}

/** Moves a scheduled event whose time `at` has come to pending; undefined if it was not waiting for that time. */
export async function releaseScheduledEvent(ctx: ClientContext, id: string, at: number): Promise<Event | undefined> {
  return withLocks(ctx, [['e', id]], async () => {
    const before = await ctx.store.getJson<Event & { dueAt?: number }>(layout.events.record(ctx.botId, id))
    if (!before || before.status !== 'scheduled' || before.dueAt !== at) {
      await ctx.store.batch([{ type: 'del', key: layout.events.due(at, ctx.botId, id) }])
      return undefined
    }
    const after = { ...before, status: 'pending' as const }
    await ctx.store.batch(writeEventOps(ctx.botId, before, after))
    return publicEvent(after)
  })
}

/** Events left pending when the runtime stopped (their handlers had not finished). */
export async function pendingEvents(ctx: ClientContext): Promise<Event[]> {
  const keys = await ctx.store.keys(layout.events.byFieldRange(ctx.botId, 'status', 'pending'))
  return keep(await loadEvents(ctx, keys)).map(publicEvent)
}

/** Event operations of the API. */
export const eventOps = {
  /** Records an event for the bot; with `schedule` (`delay` in ms or an ISO `dateTime`) it waits for its time. */
  createEvent: operation({
    route: { method: 'POST', path: '/v1/chat/events' },
    input: createSchema,
    run: async (ctx, input) => {
      const { payload } = jsonPayload('createEvent', 'payload', input.payload ?? {})
      const targets: (LockTarget | undefined)[] = [
        input.conversationId === undefined ? undefined : ['c', input.conversationId],
        input.userId === undefined ? undefined : ['u', input.userId],
      ]
      return withLocks(ctx, targets, async () => {
        if (input.conversationId !== undefined) await requireConversation(ctx, input.conversationId)
        if (input.userId !== undefined) await requireUser(ctx, input.userId)
        const now = ctx.clock.now()
        const event: Event & { dueAt?: number } = { ...newEvent(ctx, input.type, payload), status: input.schedule ? 'scheduled' : 'pending' }
        for (const field of ['conversationId', 'userId', 'messageId'] as const)
          if (input[field] !== undefined) event[field] = input[field]
        if (input.schedule) {
          const dueAt = input.schedule.delay !== undefined ? now + input.schedule.delay : Date.parse(input.schedule.dateTime!)
          if (!Number.isFinite(dueAt) || dueAt < 0) throw new InvalidPayloadError('createEvent: schedule.dateTime: not a valid time')
          event.dueAt = dueAt
        }
        await ctx.store.batch(writeEventOps(ctx.botId, undefined, event))
        return { event: publicEvent(event) }
      })
    },
  }),

  /** Fetches one event by id. */
  getEvent: operation({
    route: { method: 'GET', path: '/v1/chat/events/{id}' },
    input: idOnly,
    run: async (ctx, { id }) => ({ event: publicEvent(await requireEvent(ctx, id)) }),
  }),

  /** Lists events, newest first; the first filter given picks the index, the rest are checked per event. */
  listEvents: operation({
    route: { method: 'GET', path: '/v1/chat/events' },
    input: listSchema,
    run: async (ctx, input) => {
      const filters = layout.eventFilters.filter((f) => input[f] !== undefined)
      const [first] = filters
      const range =
        first === undefined ? layout.events.byTimeRange(ctx.botId) : layout.events.byFieldRange(ctx.botId, first, input[first]!)
      const page = await readPage(
        ctx.store,
        'listEvents',
        { range, reverse: true, load: (keys) => loadEvents(ctx, keys), accept: (e) => filters.every((f) => e[f] === input[f]) },
        input,
      )
      return { events: page.items.map(publicEvent), meta: pageMeta(page.nextToken) }
    },
  }),

  /**
   * Cancels a scheduled event: it becomes `canceled` and leaves the due index in the same batch, so it
   * never fires. Cancelling it again is harmless; an event that is not scheduled is InvalidPayload.
   */
  cancelScheduledEvent: operation({
    route: { method: 'DELETE', path: '/v1/chat/events/scheduled/{id}' },
    input: idOnly,
    run: (ctx, { id }) =>
      withLocks(ctx, [['e', id]], async () => {
        const before = await requireEvent(ctx, id)
        if (before.status === 'canceled') return {}
        if (before.status !== 'scheduled')
          throw new InvalidPayloadError(`cancelScheduledEvent: id: event ${JSON.stringify(id)} is ${before.status}, not scheduled`)
        await ctx.store.batch(writeEventOps(ctx.botId, before, { ...before, status: 'canceled' }))
        return {}
      }),
  }),
}
