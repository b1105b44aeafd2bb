import { z } from 'zod'
import * as layout from '../store/layout.ts'
import type { Op } from '../store/store.ts'
import {
  idSchema,
  jsonPayload,
  nowIso,
  operation,
  pageMeta,
  pageSchema,
  stateTypes,
  withBotLock,
  withLocks,
  type ClientContext,
  type ExpiryUnit,
  type LockTarget,
  type StateType,
} from './common.ts'
import { InvalidPayloadError, ResourceNotFoundError } from './errors.ts'
import { dels, putIndex, putJson } from './indexing.ts'
import { lastSegment, readPage } from './paging.ts'

/**
 * A state as stored: `expiry` in seconds whatever the bot's unit, and no field that its address gives
 * (the bot, the owner's id under Botpress's name). Calls answer with `BotpressState`.
 */
export type State = {
  /** The owner's id: the conversation, user, bot or workflow (bots' stateExpired handlers rely on it). */
  id: string
  type: StateType
  name: string
  payload: Record<string, any>
  createdAt: string
  updatedAt: string
  expiry?: number
  expiresAt?: string
}

/** A state as Botpress's client returns it: `expiry` in the bot's unit, with the bot and, by scope, the conversation or user. */
export type BotpressState = State & { botId: string; conversationId?: string; userId?: string }

/** The expiries a call may give, by unit: Botpress Cloud's bounds in ms (1 ms to 30 days); up to ten years in seconds. */
const expiryBounds: Record<ExpiryUnit, { min: number; max: number }> = {
  seconds: { min: Number.MIN_VALUE, max: 10 * 365 * 24 * 3600 },
  ms: { min: 1, max: 30 * 24 * 3600 * 1000 },
}

/** Any number: the bounds depend on the bot's unit, checked by `storedExpiry`. */
const expirySchema = z.number().nullable()

const address = { type: z.enum(stateTypes), id: idSchema, name: z.string().min(1).max(200) }
const addressSchema = z.object(address)
const setSchema = z.object({ ...address, payload: z.unknown(), expiry: expirySchema.optional() })
const expirySetSchema = z.object({ ...address, expiry: expirySchema })
const listSchema = z.object({ type: z.enum(stateTypes), id: idSchema, ...pageSchema })

/** A call's `expiry` (in the bot's unit) as stored, in seconds; InvalidPayload outside the unit's bounds. */
function storedExpiry(ctx: ClientContext, call: string, expiry: number | null | undefined): number | null | undefined {
  if (expiry === null || expiry === undefined) return expiry
  const { min, max } = expiryBounds[ctx.expiryUnit]
  if (!(expiry >= min && expiry <= max))
    throw new InvalidPayloadError(`${call}: expiry: must be over 0 and at most ${max} (${ctx.expiryUnit})`)
  return toSeconds(ctx, expiry)
}

function toSeconds(ctx: ClientContext, expiry: number): number {
  return ctx.expiryUnit === 'ms' ? expiry / 1000 : expiry
}

/** A stored state in Botpress's shape, for this bot. */
export function botpressState(ctx: ClientContext, state: State): BotpressState {
  // Field by field, not `{ ...state, botId }`: see mergeFields (log.ts) for what adding to a spread costs.
  const view: BotpressState = { id: state.id, type: state.type, name: state.name, payload: state.payload, createdAt: state.createdAt, updatedAt: state.updatedAt, botId: ctx.botId }
  if (state.type === 'conversation') view.conversationId = state.id
  else if (state.type === 'user') view.userId = state.id
  if (state.expiry !== undefined) view.expiry = ctx.expiryUnit === 'ms' ? Math.round(state.expiry * 1000) : state.expiry
  if (state.expiresAt !== undefined) view.expiresAt = state.expiresAt
  return view
}

type Address = z.output<typeof addressSchema>

/** Whether a stored state is still alive at `now` (ms). Expired states are invisible to every read. */
export function isLive(state: State, now: number): boolean {
  return state.expiresAt === undefined || Date.parse(state.expiresAt) > now
}

function recordKey(ctx: ClientContext, a: Address) {
  return layout.states.record(ctx.botId, a.type, a.id, a.name)
}

/** The key of a state in the expiry index, if it expires. */
export function expiryKey(botId: string, state: State): string | undefined {
  return state.expiresAt === undefined
    ? undefined
    : layout.states.expiry(Date.parse(state.expiresAt), botId, state.type, state.id, state.name)
}

/** The ops that delete states with their expiry entries. */
export function deleteStatesOps(botId: string, states: State[]): Op[] {
  return states.flatMap((s) => {
    const keys = [layout.states.record(botId, s.type, s.id, s.name)]
    const expiry = expiryKey(botId, s)
    if (expiry) keys.push(expiry)
    return dels(keys)
  })
}

/** The ops that delete every state of one owner, with their expiry entries and expired ones awaiting handlers (for cascades). */
export async function deleteOwnerStatesOps(ctx: ClientContext, type: StateType, id: string): Promise<Op[]> {
  const entries = await ctx.store.entries(layout.states.ofOwnerRange(ctx.botId, type, id))
  const expired = await ctx.store.keys(layout.states.expiredOfOwnerRange(ctx.botId, type, id))
  return [...deleteStatesOps(ctx.botId, entries.map(([, value]) => JSON.parse(value) as State)), ...dels(expired)]
}

/** A state whose expiry time `at` (ms) has come. */
export type DueExpiry = { type: StateType; id: string; name: string; at: number }

/**
 * Deletes states whose expiry has come, in one read and one batch, keeping each aside until its
 * handlers have run (see `finishExpiries`). States renewed or deleted meanwhile are left alone (their
 * stale index entries go) and are not returned.
 */
export async function takeExpiredStates(ctx: ClientContext, due: DueExpiry[]): Promise<BotpressState[]> {
  return withBotLock(ctx, async () => {
    const stored = await ctx.store.getManyJson<State>(due.map((d) => layout.states.record(ctx.botId, d.type, d.id, d.name)))
    const taken: BotpressState[] = []
    const ops: Op[] = []
    due.forEach((d, i) => {
      const state = stored[i]
      if (!state || state.expiresAt === undefined || Date.parse(state.expiresAt) !== d.at) {
        ops.push({ type: 'del', key: layout.states.expiry(d.at, ctx.botId, d.type, d.id, d.name) })
        return
      }
      taken.push(botpressState(ctx, state))
      ops.push(...deleteStatesOps(ctx.botId, [state]), putJson(layout.states.expired(ctx.botId, state.type, state.id, state.name), state))
    })
    await ctx.store.batch(ops)
    return taken
  })
}

/** `takeExpiredStates` for one state. */
export async function takeExpiredState(ctx: ClientContext, address: { type: StateType; id: string; name: string }, at: number): Promise<BotpressState | undefined> {
  return (await takeExpiredStates(ctx, [{ ...address, at }]))[0]
}

/** Forgets expired states once their handlers have run. */
export async function finishExpiries(ctx: ClientContext, states: Pick<State, 'type' | 'id' | 'name'>[]): Promise<void> {
  await ctx.store.batch(states.map((s) => ({ type: 'del', key: layout.states.expired(ctx.botId, s.type, s.id, s.name) })))
}

/** Whether an expired state is still kept aside, its handlers not yet finished. */
export async function isUnfinishedExpiry(ctx: ClientContext, s: Pick<State, 'type' | 'id' | 'name'>): Promise<boolean> {
  return (await ctx.store.get(layout.states.expired(ctx.botId, s.type, s.id, s.name))) !== undefined
}

/** Expired states whose handlers had not finished when the runtime stopped. */
export async function unfinishedExpiries(ctx: ClientContext): Promise<BotpressState[]> {
  const entries = await ctx.store.entries(layout.states.expiredRange(ctx.botId))
  return entries.map(([, value]) => botpressState(ctx, JSON.parse(value) as State))
}

/** The lock of a state's owner: its conversation or user, or the bot or workflow id. */
function ownerLock(a: { type: StateType; id: string }): LockTarget {
  return a.type === 'conversation' ? ['c', a.id] : a.type === 'user' ? ['u', a.id] : ['s', a.type, a.id]
}

/** The definition of a declared state (own keys only: a state named `constructor` is not declared). */
function definitionOf(ctx: ClientContext, name: string) {
  return Object.hasOwn(ctx.states, name) ? ctx.states[name] : undefined
}

/** Checks a payload against JSON rules, the size limit and, for a declared state, its type and schema. */
function checkPayload(call: string, ctx: ClientContext, a: Address, value: unknown) {
  const { payload } = jsonPayload(call, 'payload', value)
  const definition = definitionOf(ctx, a.name)
  if (definition) {
    if (definition.type !== a.type)
      throw new InvalidPayloadError(`${call}: type: state ${JSON.stringify(a.name)} is declared as a ${definition.type} state, not ${a.type}`)
    const result = definition.schema?.safeParse(payload)
    if (result && !result.success) {
      const issue = result.error.issues[0]!
      const path = ['payload', ...issue.path].join('.')
      throw new InvalidPayloadError(`${call}: ${path}: ${issue.message} (state ${JSON.stringify(a.name)})`)
    }
  }
  return payload
}

/** The record key of a state's owner when it has one (a conversation or a user); bot and workflow states have none. */
function ownerKey(ctx: ClientContext, a: { type: StateType; id: string }): string | undefined {
  if (a.type === 'conversation') return layout.conversations.record(ctx.botId, a.id)
  if (a.type === 'user') return layout.users.record(ctx.botId, a.id)
  return undefined
}

/** Raises ResourceNotFound, as requireConversation and requireUser do, when a state's owner is missing. */
async function requireOwner(ctx: ClientContext, a: { type: StateType; id: string }) {
  const key = ownerKey(ctx, a)
  if (key !== undefined && (await ctx.store.get(key)) === undefined) throw new ResourceNotFoundError(`${a.type} ${JSON.stringify(a.id)} not found`)
}

/**
 * Reads a state and checks its owner in one read: a round trip to LevelDB costs more than the read itself
 * (`npm run bench`, state-write). `live` is the state unless it has expired.
 */
async function readOwned(ctx: ClientContext, a: Address, checkOwner = true): Promise<{ stored?: State; live?: State }> {
  const owner = checkOwner ? ownerKey(ctx, a) : undefined
  const [json, ownerJson] = await ctx.store.getMany(owner === undefined ? [recordKey(ctx, a)] : [recordKey(ctx, a), owner])
  if (owner !== undefined && ownerJson === undefined) throw new ResourceNotFoundError(`${a.type} ${JSON.stringify(a.id)} not found`)
  const stored = json === undefined ? undefined : (JSON.parse(json) as State)
  return { stored, live: stored && isLive(stored, ctx.clock.now()) ? stored : undefined }
}

function notFound(a: Address) {
  return new ResourceNotFoundError(`${a.type} state ${JSON.stringify(a.name)} of ${JSON.stringify(a.id)} not found`)
}

/** The expiry of a declared state, in seconds, from the definition (in the bot's unit). */
function definedExpiry(ctx: ClientContext, name: string): number | undefined {
  const expiry = definitionOf(ctx, name)?.expiry
  return expiry === undefined ? undefined : toSeconds(ctx, expiry)
}

/**
 * Writes a state, renewing its expiry: the call's `expiry` (in seconds, as `storedExpiry` gives it, `null`
 * for none), else the live state's own, else the definition's. The expiry index moves in the same batch.
 * Answers in Botpress's shape.
 */
async function writeState(
  ctx: ClientContext,
  a: Address,
  payload: Record<string, any>,
  expiry: number | null | undefined,
  stored: State | undefined,
  live: State | undefined,
): Promise<BotpressState> {
  const now = ctx.clock.now()
  const seconds = expiry === null ? undefined : (expiry ?? live?.expiry ?? definedExpiry(ctx, a.name))
  const nowText = nowIso(ctx)
  const state: State = {
    id: a.id,
    type: a.type,
    name: a.name,
    payload,
    createdAt: live?.createdAt ?? nowText,
    updatedAt: nowText,
  }
  if (seconds !== undefined) {
    state.expiry = seconds
    state.expiresAt = new Date(now + Math.round(seconds * 1000)).toISOString()
  }
  const ops: Op[] = [putJson(recordKey(ctx, a), state)]
  const oldExpiry = stored && expiryKey(ctx.botId, stored)
  const newExpiry = expiryKey(ctx.botId, state)
  if (oldExpiry && oldExpiry !== newExpiry) ops.push({ type: 'del', key: oldExpiry })
  if (newExpiry) ops.push(putIndex(newExpiry))
  const owed = owedExpiry(ctx, stored, live)
  if (owed) ops.push(owed)
  await ctx.store.batch(ops)
  if (owed) ctx.expired?.([botpressState(ctx, stored!)])
  return botpressState(ctx, state)
}

/**
 * A state that had expired but was not yet taken by the time keeper, now replaced or deleted by a write:
 * the put that keeps it aside for its stateExpired handlers, as the keeper would have (else a session
 * that should have ended would silently go on).
 */
function owedExpiry(ctx: ClientContext, stored: State | undefined, live: State | undefined): Op | undefined {
  if (!stored || live || stored.expiresAt === undefined) return undefined
  return putJson(layout.states.expired(ctx.botId, stored.type, stored.id, stored.name), stored)
}

/** Runs a read-check-write of one state under its owner's lock, given the state as stored and, unless expired, live. */
function withState<T>(ctx: ClientContext, a: Address, fn: (state: { stored?: State; live?: State }) => Promise<T>): Promise<T> {
  return withLocks(ctx, [ownerLock(a)], async () => fn(await readOwned(ctx, a)))
}

/** `withState` of a state that must be live: ResourceNotFound when it is missing or expired. */
function withLiveState<T>(ctx: ClientContext, a: Address, fn: (state: { stored?: State; live: State }) => Promise<T>): Promise<T> {
  return withState(ctx, a, ({ stored, live }) => {
    if (!live) throw notFound(a)
    return fn({ stored, live })
  })
}

/** Deletes a state and its pending expiry; deleting a missing state is harmless. */
function deleteState(ctx: ClientContext, a: Address) {
  return withState(ctx, a, async ({ stored, live }) => {
    if (!stored) return {}
    const owed = owedExpiry(ctx, stored, live)
    await ctx.store.batch(owed ? [...deleteStatesOps(ctx.botId, [stored]), owed] : deleteStatesOps(ctx.botId, [stored]))
    if (owed) ctx.expired?.([botpressState(ctx, stored)])
    return {}
  })
}

/** State operations of the API. `expiry` is in the bot's unit (`ClientContext.expiryUnit`). */
export const stateOps = {
  /** Reads a live state, or raises ResourceNotFound (missing or expired). */
  getState: operation({
    route: { method: 'GET', path: '/v1/chat/states/{type}/{id}/{name}' },
    input: addressSchema,
    run: async (ctx, a) => {
      const { live } = await readOwned(ctx, a, false)
      if (!live) throw notFound(a)
      return { state: botpressState(ctx, live), meta: { cached: false } }
    },
  }),

  /** Replaces a state's payload (`payload: null` deletes it). */
  setState: operation({
    route: { method: 'POST', path: '/v1/chat/states/{type}/{id}/{name}' },
    input: setSchema,
    run: async (ctx, input): Promise<{ state: BotpressState }> => {
      const expiry = storedExpiry(ctx, 'setState', input.expiry)
      if (input.payload === null) {
        await deleteState(ctx, input)
        return {} as { state: BotpressState }
      }
      const payload = checkPayload('setState', ctx, input, input.payload)
      return withState(ctx, input, async ({ stored, live }) => ({ state: await writeState(ctx, input, payload, expiry, stored, live) }))
    },
  }),

  /** Returns the live state, or sets it to `payload` when there is none: atomic, so concurrent calls create it once. */
  getOrSetState: operation({
    route: { method: 'POST', path: '/v1/chat/states/{type}/{id}/{name}/get-or-set' },
    input: setSchema,
    run: async (ctx, input) => {
      const expiry = storedExpiry(ctx, 'getOrSetState', input.expiry)
      const payload = checkPayload('getOrSetState', ctx, input, input.payload)
      return withState(ctx, input, async ({ stored, live }) => {
        if (live) return { state: botpressState(ctx, live), meta: { cached: true } }
        return { state: await writeState(ctx, input, payload, expiry, stored, undefined), meta: { cached: false } }
      })
    },
  }),

  /** Merges `payload` into a live state's payload, one level deep. */
  patchState: operation({
    route: { method: 'PATCH', path: '/v1/chat/states/{type}/{id}/{name}' },
    input: setSchema,
    run: async (ctx, input) => {
      const expiry = storedExpiry(ctx, 'patchState', input.expiry)
      const patch = jsonPayload('patchState', 'payload', input.payload).payload
      return withLiveState(ctx, input, async ({ stored, live }) => {
        const payload = checkPayload('patchState', ctx, input, { ...live.payload, ...patch })
        return { state: await writeState(ctx, input, payload, expiry, stored, live) }
      })
    },
  }),

  /** Sets a live state's expiry (`null`: none), counted from now; the payload stays. */
  setStateExpiry: operation({
    route: { method: 'POST', path: '/v1/chat/states/{type}/{id}/{name}/expiry' },
    input: expirySetSchema,
    run: async (ctx, input) => {
      const expiry = storedExpiry(ctx, 'setStateExpiry', input.expiry)
      return withLiveState(ctx, input, async ({ stored, live }) => ({ state: await writeState(ctx, input, live.payload, expiry, stored, live) }))
    },
  }),

  /** Lists the live states of one owner, by name (localbot's, as the reference page: Botpress has no such route). */
  listStates: operation({
    input: listSchema,
    run: async (ctx, input) => {
      await requireOwner(ctx, input)
      const now = ctx.clock.now()
      const page = await readPage(
        ctx.store,
        'listStates',
        {
          range: layout.states.ofOwnerRange(ctx.botId, input.type, input.id),
          load: (keys) =>
            ctx.store.getManyJson<State>(keys.map((k) => layout.states.record(ctx.botId, input.type, input.id, lastSegment(k)))),
          accept: (s) => isLive(s, now),
        },
        input,
      )
      return { states: page.items.map((s) => botpressState(ctx, s)), meta: pageMeta(page.nextToken) }
    },
  }),

  /** Deletes a state and its pending expiry; deleting a missing state is harmless (localbot's, as the reference page). */
  deleteState: operation({ input: addressSchema, run: deleteState }),
}
