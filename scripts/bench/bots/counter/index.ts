import * as bp from '.botpress'

const bot = new bp.Bot({ actions: {} })

// The work of the dispatch and http rows: getOrSetState + setState + one reply.
bot.on.message('text', async ({ client, ctx, conversation, message }) => {
  const { state } = await client.getOrSetState({
    type: 'conversation',
    id: conversation.id,
    name: 'counter',
    payload: { count: 0 },
  })
  const count = state.payload.count + 1
  await client.setState({ type: 'conversation', id: conversation.id, name: 'counter', payload: { count } })
  await client.createMessage({
    conversationId: conversation.id,
    userId: ctx.botId,
    type: 'text',
    payload: { text: `#${count} ${message.payload.text}` },
    tags: {},
  })
})

bot.on.stateExpired('session', async () => {})

export default bot
