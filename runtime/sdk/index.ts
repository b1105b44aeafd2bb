/**
 * What bots import as `@botpress/sdk`: the definition and bot classes, zod as `z`, the client's error
 * classes and the record types.
 */
export * as z from './z.ts'
export { BotDefinition } from './definition.ts'
export type { BotDefinitionProps, EventDefinition, RecurringEvent, StateDefinition } from './definition.ts'
export { Bot } from './bot.ts'
export type { BotProps } from './bot.ts'
export * from '../client/errors.ts'
export type { Client, Conversation, Event, Message, State, StateType, User } from '../client/index.ts'
export type * from './typed.ts'
