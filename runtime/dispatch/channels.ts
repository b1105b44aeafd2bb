import { schemaIssues } from '../client/common.ts'
import { InvalidPayloadError } from '../client/errors.ts'
import type { SdkDefinition } from '../bots/loader.ts'

/**
 * The simulator's channels: every integration a bot adds (by its alias) and each of its channels is a way a
 * user's message can reach the bot, as when the integration's users write to it in Botpress Cloud.
 */

/** What localbot reads of an integration's channels. */
type Channels = Record<string, { messages?: Record<string, { schema?: { safeParse(value: unknown): { success: boolean; error?: { issues?: { path: (string | number)[]; message: string }[] } } } }> }>

const channelsOf = (definition: SdkDefinition, alias: string): Channels =>
  ((definition.integrations?.[alias] as { definition?: { channels?: Channels } } | undefined)?.definition?.channels ?? {}) as Channels

/** The channels of an integration a bot adds, in the order its definition gives them. */
export function channelNames(definition: SdkDefinition, alias: string): string[] {
  return Object.keys(channelsOf(definition, alias))
}

/** The integrations a bot adds whose channels carry messages, in the order it adds them. */
export function talkingIntegrations(definition: SdkDefinition): string[] {
  return Object.keys(definition.integrations ?? {}).filter((alias) => Object.values(channelsOf(definition, alias)).some((c) => Object.keys(c.messages ?? {}).length > 0))
}

/**
 * Integrations of Botpress's hub that people write to a bot through. A simulated package cannot say whether its
 * channel is a conversation or a data feed (every one gets the standard messages), so the default prefers these.
 */
const MESSAGING = new Set(['chat', 'webchat', 'telegram', 'slack', 'whatsapp', 'messenger', 'teams', 'discord', 'instagram', 'line', 'viber', 'sunco', 'twilio', 'vonage', 'zendesk', 'intercom', 'gmail'])

/**
 * Where a message comes from when nothing says: Botpress's `chat` when the bot adds it or adds no integration
 * that talks, else the first integration it adds that people write through (a Telegram bot hears Telegram,
 * not its Google Sheets), else the first that talks at all.
 */
export function defaultIntegration(definition: SdkDefinition): string {
  const talking = talkingIntegrations(definition)
  const nameOf = (alias: string) => definition.integrations?.[alias]?.name ?? alias
  if (talking.length === 0 || talking.some((alias) => nameOf(alias) === 'chat')) return talking.find((alias) => nameOf(alias) === 'chat') ?? 'chat'
  return talking.find((alias) => MESSAGING.has(nameOf(alias))) ?? talking[0]!
}

/** Where a conversation is: an integration (alias) and one of its channels; tags given unnamed get the integration's name. */
export type Where = { integration: string; channel: string; tagPrefix?: string }

/**
 * How a message finds its integration and channel, checked against the bot's definition once the
 * conversation is read (`existing`, or undefined for a new one): those asked for, else the conversation's,
 * else the bot's default integration and its first channel. The integration must be one the bot adds (only
 * `chat` for a bot that adds none that talks), the channel one of its channels, the message type one the
 * channel carries and the payload one its schema takes; a conversation stays in its integration and channel.
 */
export function routeOf(
  botId: string,
  definition: SdkDefinition,
  input: { integration?: string; channel?: string; type: string; payload: unknown },
): (existing: Where | undefined) => Where {
  return (existing) => {
    const integration = input.integration ?? existing?.integration ?? defaultIntegration(definition)
    const talking = talkingIntegrations(definition)
    if (talking.length === 0) {
      if (integration !== 'chat') throw new InvalidPayloadError(`bot ${JSON.stringify(botId)} adds no integration that talks: messages come through chat only, not ${JSON.stringify(integration)}`)
      const where = { integration, channel: input.channel ?? existing?.channel ?? 'channel' }
      stay(existing, where)
      return where
    }
    if (!talking.includes(integration))
      throw new InvalidPayloadError(`bot ${JSON.stringify(botId)} adds no integration ${JSON.stringify(integration)} with channels (it has: ${talking.join(', ')})`)
    const channels = channelsOf(definition, integration)
    const channel = input.channel ?? (existing?.integration === integration ? existing.channel : Object.keys(channels)[0]!)
    if (!Object.hasOwn(channels, channel))
      throw new InvalidPayloadError(`integration ${integration} has no channel ${JSON.stringify(channel)} (it has: ${Object.keys(channels).join(', ')})`)
    const where = { integration, channel, tagPrefix: integration }
    stay(existing, where)
    checkMessage(integration, channel, channels[channel]!.messages ?? {}, input.type, input.payload)
    return where
  }
}

/** A conversation stays where it was created. */
function stay(existing: Where | undefined, where: Where): void {
  if (existing && (existing.integration !== where.integration || existing.channel !== where.channel))
    throw new InvalidPayloadError(`the conversation is in ${existing.integration}/${existing.channel}, not ${where.integration}/${where.channel}: start a new conversation there`)
}

/** A message of `type` must be one the channel carries, with a payload its schema takes. */
function checkMessage(integration: string, channel: string, messages: NonNullable<Channels[string]['messages']>, type: string, payload: unknown): void {
  if (!Object.hasOwn(messages, type))
    throw new InvalidPayloadError(`channel ${integration}/${channel} carries no ${JSON.stringify(type)} messages (it carries: ${Object.keys(messages).join(', ')})`)
  const checked = messages[type]!.schema?.safeParse(payload)
  if (checked && !checked.success) {
    throw new InvalidPayloadError(`${integration}/${channel} refuses this ${type} message: ${schemaIssues(checked.error, '(the payload)')}`)
  }
}
