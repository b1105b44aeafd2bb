import * as bp from '.botpress'

const bot = new bp.Bot({ actions: {} })


// Every message: keep the user's preferences, the conversation's tags and the support session alive.
bot.on.message('*', async ({ client, conversation, user }) => {
  await client.getOrSetState({
    type: 'user',
    id: user.id,
    name: 'preferences',
    payload: { language: 'en', timezone: 'UTC', notifications: true },
  })
  await client.updateConversation({
    id: conversation.id,
    tags: { ...conversation.tags, topic: 'support', lastActivity: new Date().toISOString() },
  })
  await client.updateUser({ id: user.id, tags: { ...user.tags, lastSeen: new Date().toISOString() } })
  const session = await client
    .getState({ type: 'conversation', id: conversation.id, name: 'sessionData' })
    .catch(() => undefined)
  await client.setState({
    type: 'conversation',
    id: conversation.id,
    name: 'sessionData',
    payload: {
      startTime: session?.state.payload.startTime ?? new Date().toISOString(),
      data: { messages: (session?.state.payload.data.messages ?? 0) + 1 },
    },
  })
})

// Commands.
bot.on.message('text', async ({ client, ctx, conversation, user, message }) => {
  const say = (text: string) =>
    client.createMessage({ conversationId: conversation.id, userId: ctx.botId, type: 'text', payload: { text }, tags: {} })
  const [command, ...args] = String(message.payload.text ?? '').trim().split(/\s+/)
  switch (command) {
    case '/lang': {
      const { state } = await client.getState({ type: 'user', id: user.id, name: 'preferences' })
      await client.setState({ type: 'user', id: user.id, name: 'preferences', payload: { ...state.payload, language: args[0] ?? 'en' } })
      return void (await say(`Language set to ${args[0] ?? 'en'}`))
    }
    case '/prefs': {
      const { state } = await client.getState({ type: 'user', id: user.id, name: 'preferences' })
      return void (await say(`Preferences: ${JSON.stringify(state.payload)}`))
    }
    case '/priority': {
      await client.updateConversation({ id: conversation.id, tags: { priority: args[0] ?? 'high' } })
      await client.setState({ type: 'conversation', id: conversation.id, name: 'context', payload: { topic: 'billing', priority: args[0] ?? 'high' } })
      return void (await say(`Priority set to ${args[0] ?? 'high'}`))
    }
    case '/context': {
      try {
        const { state } = await client.getState({ type: 'conversation', id: conversation.id, name: 'context' })
        return void (await say(`Context: ${JSON.stringify(state.payload)}`))
      } catch {
        return void (await say('No context yet'))
      }
    }
    case '/states': {
      const { states } = await client.listStates({ type: 'user', id: user.id })
      return void (await say(`Your states: ${states.map((s) => s.name).join(', ') || 'none'}`))
    }
    case '/onboard': {
      const workflowId = `onboarding-${user.id}`
      const { state } = await client.getOrSetState({ type: 'workflow', id: workflowId, name: 'progress', payload: { step: 0, totalSteps: 5 } })
      const step = Math.min(state.payload.step + 1, state.payload.totalSteps)
      await client.patchState({ type: 'workflow', id: workflowId, name: 'progress', payload: { step } })
      return void (await say(`Onboarding step ${step} of ${state.payload.totalSteps}`))
    }
    case '/reset': {
      await client.deleteState({ type: 'user', id: user.id, name: 'preferences' })
      return void (await say('Preferences reset'))
    }
    case '/delete':
      await client.deleteConversation({ id: conversation.id })
      return
    case '/deleteAccount':
      await client.deleteUser({ id: user.id })
      return
    case '/help':
      return void (await say('Commands: /lang CODE, /prefs, /priority LEVEL, /context, /states, /onboard, /reset, /delete, /deleteAccount'))
    default:
      if (command?.startsWith('/')) return void (await say(`Unknown command ${command}; try /help`))
      return void (await say(`Thanks, a human will answer soon. (${message.payload.text})`))
  }
})

// Once a day: count the conversations and keep the figure in the bot's state.
bot.on.event('dailyReport', async ({ client, ctx, logger }) => {
  let nextToken: string | undefined
  let total = 0
  do {
    const { conversations, meta } = await client.listConversations({ pageSize: 100, nextToken })
    total += conversations.length
    nextToken = meta.nextToken
  } while (nextToken)
  await client.setState({ type: 'bot', id: ctx.botId, name: 'report', payload: { conversations: total, at: new Date() } })
  logger.info(`daily report: ${total} conversations`)
})

// An hour after the last message the session expires: tell the user.
bot.on.stateExpired('sessionData', async ({ client, ctx, state }) => {
  await client
    .createMessage({
      conversationId: state.id,
      userId: ctx.botId,
      type: 'text',
      payload: { text: `Your support session has ended after ${state.payload.data.messages ?? 0} messages.` },
      tags: {},
    })
    .catch(() => undefined)
})

export default bot
