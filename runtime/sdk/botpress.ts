/**
 * What bots import as `.botpress` at run time. Botpress generates this module per bot; localbot needs
 * no generation: at run time the class is the same for every bot, and the type checker
 * (scripts/typecheck.ts) gives each bot a `.botpress` typed by its own `bot.definition.ts`
 * (see botpressModuleFor). This untyped form is what editors see through tsconfig.json's `paths`.
 */
import type * as typed from './typed.ts'

export { Bot } from './bot.ts'
export type { Conversation, Event, Message, State, User } from '../client/index.ts'

type AnyDefinition = unknown
/** The bot's client. */
export type BotClient = typed.BotClient<AnyDefinition>
/** What a message handler gets. */
export type MessageHandlerProps = typed.MessageHandlerProps<AnyDefinition>
/** What an event handler gets. */
export type EventHandlerProps = typed.EventHandlerProps<AnyDefinition>
/** What a stateExpired handler gets. */
export type StateExpiredHandlerProps = typed.StateExpiredHandlerProps<AnyDefinition>
export type { BotContext, BotLogger } from './typed.ts'
