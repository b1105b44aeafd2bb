import type { z } from 'zod'
import type { Client, Conversation, Event, Message, State, StateType, User } from '../client/index.ts'
import type { BotDefinition, StateDefinition } from './definition.ts'

/** Any JSON object: the payload of an undeclared state. */
export type JsonObject = Record<string, any>

/** The states declared by a definition type. */
export type DeclaredStates<D> = D extends BotDefinition<infer S, any> ? S : {}

type Declared<D> = DeclaredStates<D> & Record<string, StateDefinition>
/** The payload type of state `N`: its schema's input when declared, any JSON object when not. */
export type StatePayload<D, N extends string> = N extends keyof DeclaredStates<D> ? z.input<Declared<D>[N]['schema']> : JsonObject
/** The stored payload type of state `N`. */
export type StoredPayload<D, N extends string> = N extends keyof DeclaredStates<D> ? z.output<Declared<D>[N]['schema']> : JsonObject
/** The scope of state `N`: the declared one, or any. */
export type StateTypeOf<D, N extends string> = N extends keyof DeclaredStates<D> ? Declared<D>[N]['type'] : StateType

type Address<D, N extends string> = { type: StateTypeOf<D, N>; id: string; name: N }
/** A state as a handler sees it, typed by name. */
export type TypedState<D, N extends string> = Omit<State, 'payload' | 'type' | 'name'> & {
  name: N
  type: StateTypeOf<D, N>
  payload: StoredPayload<D, N>
}

/** The client handlers get: Botpress's, with state calls typed by the bot's definition. */
export type BotClient<D> = Omit<Client, 'getState' | 'setState' | 'getOrSetState' | 'patchState' | 'deleteState'> & {
  getState<N extends string>(input: Address<D, N>): Promise<{ state: TypedState<D, N>; meta: { cached: boolean } }>
  setState<N extends string>(
    input: Address<D, N> & { payload: StatePayload<D, N> | null; expiry?: number | null },
  ): Promise<{ state: TypedState<D, N> }>
  getOrSetState<N extends string>(
    input: Address<D, N> & { payload: StatePayload<D, N>; expiry?: number | null },
  ): Promise<{ state: TypedState<D, N>; meta: { cached: boolean } }>
  patchState<N extends string>(
    input: Address<D, N> & { payload: Partial<StatePayload<D, N>>; expiry?: number | null },
  ): Promise<{ state: TypedState<D, N> }>
  deleteState<N extends string>(input: Address<D, N>): Promise<{}>
}

/** What `ctx` holds in a handler. */
export type BotContext = {
  botId: string
  type: string
  operation: 'event_received'
  configuration: { payload: string }
}

/** The logger handlers get. */
export type BotLogger = {
  debug(...args: unknown[]): void
  info(...args: unknown[]): void
  warn(...args: unknown[]): void
  error(...args: unknown[]): void
}

/** What every handler gets. */
export type CommonHandlerProps<D> = { client: BotClient<D>; ctx: BotContext; logger: BotLogger }
/** What a message handler gets. */
export type MessageHandlerProps<D> = CommonHandlerProps<D> & { message: Message; user: User; conversation: Conversation; event: Event }
/** What an event handler gets. */
export type EventHandlerProps<D> = CommonHandlerProps<D> & { event: Event }
/** What a stateExpired handler gets. */
export type StateExpiredHandlerProps<D> = CommonHandlerProps<D> & { state: State }

/** A message handler. */
export type MessageHandler<D> = (props: MessageHandlerProps<D>) => Promise<void> | void
/** An event handler. */
export type EventHandler<D> = (props: EventHandlerProps<D>) => Promise<void> | void
/** A stateExpired handler. */
export type StateExpiredHandler<D> = (props: StateExpiredHandlerProps<D>) => Promise<void> | void
