import { z } from 'zod'
import * as layout from '../store/layout.ts'
import type { Op } from '../store/store.ts'
import {
  idSchema,
  jsonPayload,
  nowIso,
  pageSchema,
  parseInput,
  stateTypes,
  withBotLock,
  withLocks,
  type ClientContext,
  type LockTarget,
  type StateType,
} from './common.ts'
import { InvalidPayloadError, ResourceNotFoundError } from './errors.ts'
import { dels, putJson } from './indexing.ts'
import { lastSegment, readPage } from './paging.ts'

/** A state, as Botpress's client returns it; `expiry` is in seconds here. */
export type State = {
  id: string
  type: StateType
  name: string
  payload: Record<string, any>
  createdAt: string
  updatedAt: string
  expiry?: number
  expiresAt?: string
}

/** Seconds; the longest expiry is ten years. */
const expirySchema = z.number().positive().max(10 * 365 * 24 * 3600)

const address = { type: z.enum(stateTypes), id: idSchema, name: z.string().min(1).max(200) }
const addressSchema = z.object(address)
const setSchema = z.object({ ...address, payload: z.unknown(), expiry: expirySchema.nullable().optional() })
const listSchema = z.object({ type: z.enum(stateTypes), id: idSchema, ...pageSchema })

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
export async function takeExpiredStates(ctx: ClientContext, due: DueExpiry[]): Promise<State[]> {
  return withBotLock(ctx, async () => {
    const stored = await ctx.store.getManyJson<State>(due.map((d) => layout.states.record(ctx.botId, d.type, d.id, d.name)))
    const taken: State[] = []
    const ops: Op[] = []
    due.forEach((d, i) => {
      const state = stored[i]
      if (!state || state.expiresAt === undefined || Date.parse(state.expiresAt) !== d.at) {
        ops.push({ type: 'del', key: layout.states.expiry(d.at, ctx.botId, d.type, d.id, d.name) })
        return
      }
      taken.push(state)
      ops.push(...deleteStatesOps(ctx.botId, [state]), putJson(layout.states.expired(ctx.botId, state.type, state.id, state.name), state))
    })
    await ctx.store.batch(ops)
    return taken
  })
}

/** `takeExpiredStates` for one state. */
export async function takeExpiredState(ctx: ClientContext, address: { type: StateType; id: string; name: string }, at: number): Promise<State | undefined> {
  return (await takeExpiredStates(ctx, [{ ...address, at }]))[0]
}

/** Forgets expired states once their handlers have run. */
export async function finishExpiries(ctx: ClientContext, states: State[]): Promise<void> {
  await ctx.store.batch(states.map((s) => ({ type: 'del', key: layout.states.expired(ctx.botId, s.type, s.id, s.name) })))
}

/** Expired states whose handlers had not finished when the runtime stopped. */
export async function unfinishedExpiries(ctx: ClientContext): Promise<State[]> {
  const entries = await ctx.store.entries(layout.states.expiredRange(ctx.botId))
  return entries.map(([, value]) => JSON.parse(value) as State)
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

/**
 * Writes a state, renewing its expiry: the call's `expiry` (seconds, `null` for none), else the live
 * state's own, else the definition's. The expiry index moves in the same batch.
 */
async function writeState(
  ctx: ClientContext,
  a: Address,
  payload: Record<string, any>,
  expiry: number | null | undefined,
  stored: State | undefined,
  live: State | undefined,
): Promise<State> {
  const now = ctx.clock.now()
  const seconds = expiry === null ? undefined : (expiry ?? live?.expiry ?? definitionOf(ctx, a.name)?.expiry)
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
  if (newExpiry) ops.push({ type: 'put', key: newExpiry, value: '' })
  const owed = owedExpiry(ctx, stored, live)
  if (owed) ops.push(owed)
  await ctx.store.batch(ops)
  if (owed) ctx.expired?.([stored!])
  return state
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

/** State calls of the client. */
export const stateCalls = {
  /** Reads a live state, or raises ResourceNotFound (missing or expired). */
  async getState(ctx: ClientContext, raw: z.input<typeof addressSchema>) {
    const a = parseInput('getState', addressSchema, raw)
    const { live } = await readOwned(ctx, a, false)
    if (!live) throw notFound(a)
    return { state: live, meta: { cached: false } }
  },

  /** Replaces a state's payload (`payload: null` deletes it). */
  async setState(ctx: ClientContext, raw: z.input<typeof setSchema>): Promise<{ state: State }> {
    const input = parseInput('setState', setSchema, raw)
    if (input.payload === null) {
      await stateCalls.deleteState(ctx, input)
      return {} as { state: State }
    }
    const payload = checkPayload('setState', ctx, input, input.payload)
    return withLocks(ctx, [ownerLock(input)], async () => {
      const { stored, live } = await readOwned(ctx, input)
      return { state: await writeState(ctx, input, payload, input.expiry, stored, live) }
    })
  },

  /** Returns the live state, or sets it to `payload` when there is none: atomic, so concurrent calls create it once. */
  async getOrSetState(ctx: ClientContext, raw: z.input<typeof setSchema>) {
    const input = parseInput('getOrSetState', setSchema, raw)
    const payload = checkPayload('getOrSetState', ctx, input, input.payload)
    return withLocks(ctx, [ownerLock(input)], async () => {
      const { stored, live } = await readOwned(ctx, input)
      if (live) return { state: live, meta: { cached: true } }
      return { state: await writeState(ctx, input, payload, input.expiry, stored, undefined), meta: { cached: false } }
    })
  },

  /** Merges `payload` into a live state's payload, one level deep. */
  async patchState(ctx: ClientContext, raw: z.input<typeof setSchema>) {
    const input = parseInput('patchState', setSchema, raw)
    const patch = jsonPayload('patchState', 'payload', input.payload).payload
    return withLocks(ctx, [ownerLock(input)], async () => {
      const { stored, live } = await readOwned(ctx, input)
      if (!live) throw notFound(input)
      const payload = checkPayload('patchState', ctx, input, { ...live.payload, ...patch })
      return { state: await writeState(ctx, input, payload, input.expiry, stored, live) }
    })
  },

  /** Lists the live states of one owner, by name. */
  async listStates(ctx: ClientContext, raw: z.input<typeof listSchema>) {
    const input = parseInput('listStates', listSchema, raw)
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
    return { states: page.items, meta: page.nextToken === undefined ? {} : { nextToken: page.nextToken } }
  },

  /** Deletes a state and its pending expiry; deleting a missing state is harmless. */
  async deleteState(ctx: ClientContext, raw: z.input<typeof addressSchema>) {
    const a = parseInput('deleteState', addressSchema, raw)
    return withLocks(ctx, [ownerLock(a)], async () => {
      const { stored, live } = await readOwned(ctx, a)
      if (!stored) return {}
      const owed = owedExpiry(ctx, stored, live)
      await ctx.store.batch(owed ? [...deleteStatesOps(ctx.botId, [stored]), owed] : deleteStatesOps(ctx.botId, [stored]))
      if (owed) ctx.expired?.([stored])
      return {}
    })
  },
}
