import * as sdk from '@botpress/sdk'

export default new sdk.BotDefinition({
  states: {
    counter: {
      type: 'conversation',
      schema: sdk.z.object({ count: sdk.z.number().int().min(0) }),
    },
    // A session the expiry row sets to run out; its handler does nothing, so the row times the firing.
    session: {
      type: 'conversation',
      schema: sdk.z.object({ startedAt: sdk.z.string() }),
    },
  },
})
