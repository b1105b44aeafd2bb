// @ts-check
/**
 * Transcripts: a conversation's messages saved as a JSON file, and what of a saved one is replayed (the user's
 * messages, in order).
 */
import { el } from './dom.js'

/** @typedef {import('./messages.js').Message} Message */

/** What a saved transcript says it is. */
const FORMAT = 'localbot transcript'

/**
 * A transcript of a conversation, its messages oldest first.
 * @param {{ botId: string, conversationId: string, integration: string, channel: string, savedAt: string, messages: Message[] }} conversation
 */
export function transcriptOf({ botId, conversationId, integration, channel, savedAt, messages }) {
  return { format: FORMAT, version: 1, savedAt, botId, conversationId, integration, channel, messages }
}

/**
 * Has the browser download `value` as a JSON file.
 * @param {string} name
 * @param {unknown} value
 */
export function download(name, value) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }))
  const a = el('a', { attrs: { href: url, download: name } })
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/**
 * What a file holds to replay: the channel it was in and the user's messages, oldest first; or why it cannot be.
 * @param {File} file
 * @returns {Promise<{ integration: string, channel: string, said: Message[] } | { error: string }>}
 */
export async function readTranscript(file) {
  /** @type {any} */
  let transcript
  try {
    transcript = JSON.parse(await file.text())
  } catch (error) {
    return { error: `${file.name} is not JSON: ${/** @type {Error} */ (error).message}` }
  }
  if (transcript?.format !== FORMAT || !Array.isArray(transcript.messages)) return { error: `${file.name} is not a transcript the console saved` }
  const said = transcript.messages.filter(
    (/** @type {any} */ m) => m?.direction === 'incoming' && typeof m.type === 'string' && m.payload !== null && typeof m.payload === 'object',
  )
  return { integration: String(transcript.integration), channel: String(transcript.channel), said }
}
