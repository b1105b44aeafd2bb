import { z } from 'zod'
import { operation } from './common.ts'

const trackSchema = z.object({ name: z.string().min(1).max(200), count: z.number() })

/** Analytics operations of the API. */
export const analyticsOps = {
  /** Counts an analytics metric for the bot: localbot logs it and stores nothing. */
  trackAnalytics: operation({
    route: { method: 'POST', path: '/v1/chat/analytics' },
    input: trackSchema,
    run: async (ctx, { name, count }) => {
      ctx.logger?.info('trackAnalytics', { bot: ctx.botId, name, count })
      return {}
    },
  }),
}
