import type { z } from 'zod'
import type { StateType } from '../client/common.ts'

/** A state declared in a definition; `expiry` is in seconds. */
export type StateDefinition = { type: StateType; schema: z.ZodType; expiry?: number }
/** An event declared in a definition, optionally fired by a cron schedule. */
export type EventDefinition = { schema: z.ZodType; recurrence?: { cron: string; payload: Record<string, unknown> } }
/** The older form of a cron-fired event. */
export type RecurringEvent = { type: string; payload: Record<string, unknown>; schedule: { cron: string } }

/** What `new sdk.BotDefinition({...})` takes. Parts localbot does not run are accepted and reported once. */
export type BotDefinitionProps<
  S extends Record<string, StateDefinition> = Record<string, StateDefinition>,
  E extends Record<string, EventDefinition> = Record<string, EventDefinition>,
> = {
  states?: S
  events?: E
  recurringEvents?: Record<string, RecurringEvent>
  configuration?: unknown
  integrations?: unknown
  plugins?: unknown
  actions?: unknown
  tables?: unknown
  secrets?: unknown
  workflows?: unknown
  attributes?: unknown
  user?: unknown
  conversation?: unknown
  message?: unknown
  tags?: unknown
}

/** The parts of a definition that localbot runs; the rest it accepts with one warning. */
export const supportedDefinitionParts = ['states', 'events', 'recurringEvents'] as const

/** A bot's definition: its states, events and schedules, as Botpress's `BotDefinition`. */
export class BotDefinition<
  S extends Record<string, StateDefinition> = {},
  E extends Record<string, EventDefinition> = {},
> {
  readonly states: S
  readonly events: E
  readonly recurringEvents: Record<string, RecurringEvent>

  constructor(readonly props: BotDefinitionProps<S, E>) {
    this.states = props.states ?? ({} as S)
    this.events = props.events ?? ({} as E)
    // As Botpress does: each event's recurrence becomes a recurring event keyed by its name; explicit entries win.
    const derived: Record<string, RecurringEvent> = {}
    for (const [name, event] of Object.entries(this.events))
      if (event.recurrence) derived[name] = { type: name, payload: event.recurrence.payload, schedule: { cron: event.recurrence.cron } }
    this.recurringEvents = { ...derived, ...props.recurringEvents }
  }

  /** Integrations do not run locally; accepted so that definitions load unchanged. */
  addIntegration(..._args: unknown[]): this {
    return this
  }

  /** Plugins do not run locally; accepted so that definitions load unchanged. */
  addPlugin(..._args: unknown[]): this {
    return this
  }

  /** The parts given that localbot ignores. */
  unsupportedParts(): string[] {
    return Object.keys(this.props).filter(
      (part) => !(supportedDefinitionParts as readonly string[]).includes(part) && this.props[part as keyof BotDefinitionProps] !== undefined,
    )
  }
}
