import { fileURLToPath } from 'node:url'

const sdkDir = fileURLToPath(new URL('.', import.meta.url))

/**
 * The source of one bot's `.botpress` module for the type checker: the same exports as botpress.ts,
 * typed by the bot's own definition, with nothing written to disk.
 */
export function botpressModuleFor(definitionFile: string | undefined): string {
  const definition = definitionFile
    ? `import type definition from ${JSON.stringify(definitionFile)}\ntype Definition = typeof definition`
    : `import type { BotDefinition } from ${JSON.stringify(sdkDir + 'definition.ts')}\ntype Definition = BotDefinition<{}, {}>`
  return `${definition}
import { Bot as SdkBot } from ${JSON.stringify(sdkDir + 'bot.ts')}
import type * as typed from ${JSON.stringify(sdkDir + 'typed.ts')}
export type { Conversation, Event, Message, State, User } from ${JSON.stringify(sdkDir + '../client/index.ts')}
export type { BotContext, BotLogger } from ${JSON.stringify(sdkDir + 'typed.ts')}
export class Bot extends SdkBot<Definition> {}
export type BotClient = typed.BotClient<Definition>
export type MessageHandlerProps = typed.MessageHandlerProps<Definition>
export type EventHandlerProps = typed.EventHandlerProps<Definition>
export type StateExpiredHandlerProps = typed.StateExpiredHandlerProps<Definition>
`
}
