/** The peer rows' messages: the dispatch row's shape, spread over 10,000 conversations in turn. */
import { nth } from '../seed.ts'

/** Conversations the peer rows' messages go to in turn. */
export const PEER_CONVERSATIONS = 10_000

/** A message as every side of a peer row receives it (localbot's body of `POST /bots/:id/messages`). */
export type PeerMessage = { userId: string; conversationId: string; text: string }

/** The i-th message: conversation i mod 10,000, each with its own user. */
export function peerMessage(i: number): PeerMessage {
  const c = i % PEER_CONVERSATIONS
  return { userId: nth('user', c), conversationId: nth('conv', c), text: `hello number ${100000 + (i % 900000)}` }
}

/** The same message as the Telegram update a grammY bot receives: chat and user ids are the conversation's number. */
export function telegramUpdate(i: number) {
  const { userId, text } = peerMessage(i)
  const id = (i % PEER_CONVERSATIONS) + 1
  const date = Math.floor(Date.now() / 1000)
  return {
    update_id: i + 1,
    message: { message_id: i + 1, date, chat: { id, type: 'private' as const, first_name: userId }, from: { id, is_bot: false, first_name: userId }, text },
  }
}
