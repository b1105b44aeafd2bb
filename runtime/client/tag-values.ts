import { z } from 'zod'
import { childrenOf, decodeKey, key, type Range } from '../store/keys.ts'
import * as layout from '../store/layout.ts'
import { operation, pageMeta, pageSchema, type ClientContext } from './common.ts'
import { decodeToken, encodeToken, pageLimit } from './paging.ts'

/**
 * The tag index of each kind, as the range of one tag value. Its keys are ['b', botId, KIND, name, value, ...]
 * (store/layout.ts): the first four segments hold every value of a tag.
 */
const tagIndexes = {
  conversation: (botId: string, name: string) => layout.conversations.byTagRange(botId, name, '', 'createdAt'),
  user: (botId: string, name: string) => layout.users.byTagRange(botId, name, ''),
  message: (botId: string, name: string) => layout.messages.byTagRange(botId, name, ''),
}

const VALUE_AT = 4

const listSchema = z.object({
  key: z.string().min(1).max(200),
  type: z.enum(['conversation', 'user', 'message']),
  ...pageSchema,
})

/** The first key of `range`, if any. */
async function firstKey(ctx: ClientContext, range: Range): Promise<string | undefined> {
  for await (const indexKey of ctx.store.iterateKeys(range, { first: 1 })) return indexKey
  return undefined
}

/** Tag value operations of the API. */
export const tagValueOps = {
  /**
   * Lists the values a tag has on the bot's conversations, users or messages, each once, in order. Each
   * page reads from the value after the last one given, by one seek a value: a value that existed
   * throughout a walk is seen once, whatever is written meanwhile.
   */
  listTagValues: operation({
    route: { method: 'GET', path: '/v1/chat/tags/{key}/values' },
    input: listSchema,
    run: async (ctx, input) => {
      const prefix = decodeKey(tagIndexes[input.type](ctx.botId, input.key).gt).slice(0, VALUE_AT)
      const all = childrenOf(...prefix)
      const limit = pageLimit(input)
      const values: string[] = []
      const page = (nextToken?: string) => ({ tags: values.map((value) => ({ value })), meta: pageMeta(nextToken) })
      // The token names the last value given; the next page starts past every key of it.
      let gt = input.nextToken === undefined ? all.gt : childrenOf(...decodeKey(decodeToken('listTagValues', input.nextToken, all).after)).lt
      for (;;) {
        const found = await firstKey(ctx, { gt, lt: all.lt })
        if (found === undefined) return page()
        if (values.length === limit) return page(encodeToken('0', key(...prefix, values.at(-1)!)))
        const value = decodeKey(found)[VALUE_AT]!
        values.push(value)
        gt = childrenOf(...prefix, value).lt
      }
    },
  }),
}
