/**
 * What bots import as `.botpress` at run time. Botpress generates this module per bot; localbot needs
 * no generation: the class is the same for every bot, and the type checker (scripts/typecheck.ts) gives
 * each bot a `.botpress` typed by its own definition.
 */
export { Bot } from './bot.ts'
export type * from './typed.ts'
export type { Conversation, Event, Message, State, User } from '../client/index.ts'
