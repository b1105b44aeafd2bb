/**
 * The counter bot on Botpress's SDK with nothing under it: `bot.handler(request, { client })` for a
 * `message_created` event, with a client that keeps states in a Map and stores nothing. What remains is
 * the least a message costs when a bot runs through the handler protocol: the request's JSON, the SDK's
 * parsing and routing, the handler and its three client calls. No store, no index, no lock, no durability.
 */
import { findBotFolders, loadBot } from '../../../runtime/bots/loader.ts'
import type { Conversation, Event, Message, User } from '../../../runtime/client/index.ts'
import { messageCreated, requestOf } from '../../../runtime/host/protocol.ts'
import { systemClock } from '../../../runtime/time/clock.ts'
import { benchBots } from '../seed.ts'
import { peerMessage } from './messages.ts'

/** `send(i)` runs the counter bot's handler on message i (peers/messages.ts) and settles when it answers. */
export async function sdkAlone(): Promise<{ send: (i: number) => Promise<void> }> {
  const folder = (await findBotFolders(benchBots.botsDir)).find((f) => f.id === 'counter')!
  const loaded = await loadBot(folder, systemClock)
  const states = new Map<string, unknown>()
  let ids = 0
  const at = new Date().toISOString()
  const client = {
    getOrSetState: async (x: { id: string; name: string; payload: unknown }) => {
      const key = `${x.id}\u0000${x.name}`
      if (!states.has(key)) states.set(key, { ...x, createdAt: at, updatedAt: at })
      return { state: states.get(key) }
    },
    setState: async (x: { id: string; name: string }) => {
      states.set(`${x.id}\u0000${x.name}`, x)
      return { state: x }
    },
    createMessage: async (x: object) => ({ message: { ...x, id: `msg_${++ids}`, createdAt: at, updatedAt: at, direction: 'outgoing' } }),
  }
  const handler = loaded.bot.handler as (request: unknown, deps: { client: unknown }) => Promise<{ status?: number } | undefined>
  return {
    send: async (i) => {
      const { userId, conversationId, text } = peerMessage(i)
      const message = { id: `m${i}`, conversationId, userId, type: 'text', payload: { text }, direction: 'incoming', tags: {}, createdAt: at, updatedAt: at } as unknown as Message
      const user = { id: userId, tags: {}, createdAt: at, updatedAt: at } as unknown as User
      const conversation = { id: conversationId, channel: 'channel', integration: 'localbot', tags: {}, createdAt: at, updatedAt: at } as unknown as Conversation
      const event = { id: `e${i}`, createdAt: at, type: 'message_created', payload: {}, status: 'pending', failureReason: null, conversationId, userId, messageId: message.id } as Event
      const response = await handler(requestOf('counter', messageCreated(event, { message, user, conversation }), loaded.configuration), { client })
      if (response?.status !== undefined && response.status !== 200) throw new Error(`the counter bot's handler answered ${response.status}`)
    },
  }
}
