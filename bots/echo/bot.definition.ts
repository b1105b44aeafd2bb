import * as sdk from '@botpress/sdk'

export default new sdk.BotDefinition({
  states: {
    counter: {
      type: 'conversation',
      schema: sdk.z.object({ count: sdk.z.number().int().min(0) }),
    },
  },
})
