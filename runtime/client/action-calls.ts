import { z } from 'zod'
import { InvalidPayloadError } from './errors.ts'
import { jsonPayload, operation } from './common.ts'

const callSchema = z.object({ type: z.string().min(1).max(200), input: z.record(z.string(), z.unknown()).optional() })

/** The action call of the API: answered where the bot runs (see runtime/dispatch/actions.ts). */
export const actionCallOps = {
  /**
   * Calls an action: the bot's own or a running plugin's run on the bot; an integration's (or a simulated
   * plugin's) is answered by its mock. `{ output, meta: { cached: false } }`.
   */
  callAction: operation({
    route: { method: 'POST', path: '/v1/chat/actions' },
    input: callSchema,
    run: async (ctx, { type, input }) => {
      const { payload } = jsonPayload('callAction', 'input', input ?? {})
      if (!ctx.callAction) throw new InvalidPayloadError(`action ${type}: nothing runs actions for this client`)
      return { output: await ctx.callAction(type, payload), meta: { cached: false } }
    },
  }),
}
