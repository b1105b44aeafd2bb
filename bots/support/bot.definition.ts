import * as sdk from '@botpress/sdk'

export default new sdk.BotDefinition({
  states: {
    // A support session: gone an hour after the last message (expiry in seconds).
    sessionData: {
      type: 'conversation',
      schema: sdk.z.object({
        startTime: sdk.z.string(),
        data: sdk.z.record(sdk.z.any()),
      }),
      expiry: 3600,
    },
    preferences: {
      type: 'user',
      schema: sdk.z.object({
        language: sdk.z.string(),
        timezone: sdk.z.string().optional(),
        notifications: sdk.z.boolean().optional(),
      }),
    },
  },
  events: {
    dailyReport: {
      schema: sdk.z.object({}),
      recurrence: { cron: '0 9 * * *', payload: {} },
    },
  },
})
