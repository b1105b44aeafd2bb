/**
 * Botpress's client, as the type checker shows it to Botpress's SDK when localbot checks a bot: the same,
 * except that every list call also takes the reference page's `limit` (Botpress's own name is `pageSize`;
 * localbot serves both), so that the page's snippets type-check unchanged. scripts/typecheck.ts resolves
 * `@botpress/client` to this file for the SDK's typings only.
 */
import { Client as Base } from '@botpress/client'

export * from '@botpress/client'

type WithLimit<F> = F extends (input: infer I) => infer O ? (input: I & { limit?: number }) => O : F

export declare class Client extends Base {
  readonly listConversations: WithLimit<Base['listConversations']>
  readonly listParticipants: WithLimit<Base['listParticipants']>
  readonly listUsers: WithLimit<Base['listUsers']>
  readonly listMessages: WithLimit<Base['listMessages']>
  readonly listEvents: WithLimit<Base['listEvents']>
  readonly listWorkflows: WithLimit<Base['listWorkflows']>
}
