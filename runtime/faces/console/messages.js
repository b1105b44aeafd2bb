// @ts-check
/**
 * Botpress's standard messages as the chat shows them: text and markdown (a safe subset), image, audio, video,
 * file, location, card and carousel (their postback and say buttons send the value, url buttons open it), choice
 * and dropdown (send the value chosen), bloc (its items, each as itself); any other type as its JSON. A bot's
 * message is untrusted: nothing of it is ever parsed as HTML.
 */
import { el, link, safeUrl, timeOfDay } from './dom.js'
import { renderMarkdown } from './markdown.js'

/**
 * @typedef {{ id: string, type: string, payload: any, direction: 'incoming' | 'outgoing', userId: string,
 *   conversationId: string, createdAt: string, tags?: Record<string, string> }} Message
 * @typedef {(type: string, payload: Record<string, unknown>) => void} Send
 */

/**
 * A string field of a payload, or the empty string.
 * @param {unknown} value
 */
const str = (value) => (typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value))

/**
 * An image, or what it would be when its URL is not one to load.
 * @param {unknown} url
 * @param {string} alt
 */
function image(url, alt) {
  const src = safeUrl(url, { media: true })
  if (!src) return el('span', { className: 'broken', text: `[image ${str(url)}]` })
  return el('img', { attrs: { src, alt, loading: 'lazy', referrerpolicy: 'no-referrer' } })
}

/**
 * A media player (audio or video) with a link to the file.
 * @param {'audio' | 'video'} tag
 * @param {any} payload
 * @param {string} field
 */
function player(tag, payload, field) {
  const src = safeUrl(payload[field], { media: true })
  const title = str(payload.title)
  return el(
    'figure',
    { className: tag },
    src ? el(tag, { attrs: { src, controls: '', preload: 'none' } }) : el('span', { className: 'broken', text: `[${tag} ${str(payload[field])}]` }),
    el('figcaption', {}, title ? `${title} · ` : '', link(payload[field], tag === 'audio' ? 'open the audio' : 'open the video')),
  )
}

/**
 * A card: image, title, subtitle and its buttons.
 * @param {any} card
 * @param {Send} send
 */
function card(card, send) {
  const actions = Array.isArray(card.actions) ? card.actions : []
  return el(
    'div',
    { className: 'card' },
    card.imageUrl ? image(card.imageUrl, str(card.title)) : undefined,
    el('div', { className: 'card-title', text: str(card.title) }),
    card.subtitle ? el('div', { className: 'card-subtitle', text: str(card.subtitle) }) : undefined,
    actions.length > 0 ? el('div', { className: 'actions' }, ...actions.map((/** @type {any} */ a) => cardAction(a, send))) : undefined,
  )
}

/**
 * A card's button: `url` opens its value, `postback` and `say` send it as the user's message.
 * @param {any} action
 * @param {Send} send
 */
function cardAction(action, send) {
  const label = str(action.label) || str(action.value)
  if (action.action === 'url') return link(action.value, label, 'button link-button')
  return el('button', { text: label, title: `${str(action.action)}: ${str(action.value)}`, attrs: { type: 'button' }, on: { click: () => send('text', { text: str(action.value) }) } })
}

/**
 * The body of a message of `type` with `payload`.
 * @param {string} type
 * @param {any} payload
 * @param {Send} send
 * @returns {Node[]}
 */
export function renderPayload(type, payload, send) {
  payload = payload && typeof payload === 'object' ? payload : {}
  switch (type) {
    case 'text':
      // As Botpress's webchat does: a text's Markdown is shown formatted.
      if (typeof payload.text === 'string') return [el('div', { className: 'md' }, renderMarkdown(payload.text))]
      break
    case 'markdown':
      if (typeof payload.markdown === 'string') return [el('div', { className: 'md' }, renderMarkdown(payload.markdown))]
      break
    case 'image':
      return [el('figure', { className: 'image' }, image(payload.imageUrl, str(payload.title)), payload.title ? el('figcaption', { text: str(payload.title) }) : undefined)]
    case 'audio':
      return [player('audio', payload, 'audioUrl')]
    case 'video':
      return [player('video', payload, 'videoUrl')]
    case 'file':
      return [el('div', { className: 'file' }, el('img', { className: 'icon', attrs: { src: '/console/file.svg', alt: '' } }), link(payload.fileUrl, str(payload.title) || fileName(payload.fileUrl)))]
    case 'location': {
      const at = `${str(payload.latitude)}, ${str(payload.longitude)}`
      const map = `https://www.openstreetmap.org/?mlat=${encodeURIComponent(str(payload.latitude))}&mlon=${encodeURIComponent(str(payload.longitude))}#map=16/${encodeURIComponent(str(payload.latitude))}/${encodeURIComponent(str(payload.longitude))}`
      return [
        el(
          'div',
          { className: 'location' },
          el('img', { className: 'icon', attrs: { src: '/console/pin.svg', alt: '' } }),
          el('div', {}, payload.title ? el('div', { className: 'card-title', text: str(payload.title) }) : undefined, payload.address ? el('div', { text: str(payload.address) }) : undefined, link(map, at)),
        ),
      ]
    }
    case 'card':
      return [card(payload, send)]
    case 'carousel':
      if (Array.isArray(payload.items)) return [el('div', { className: 'carousel' }, ...payload.items.map((/** @type {any} */ item) => card(item, send)))]
      break
    case 'choice':
      if (Array.isArray(payload.options))
        return [
          el('div', { className: 'md' }, renderMarkdown(str(payload.text))),
          el(
            'div',
            { className: 'actions choice' },
            ...payload.options.map((/** @type {any} */ o) =>
              el('button', { text: str(o.label) || str(o.value), title: `sends ${str(o.value)}`, attrs: { type: 'button' }, on: { click: () => send('text', { text: str(o.value) }) } }),
            ),
          ),
        ]
      break
    case 'dropdown':
      if (Array.isArray(payload.options)) {
        const select = el('select', {}, ...payload.options.map((/** @type {any} */ o) => el('option', { text: str(o.label) || str(o.value), attrs: { value: str(o.value) } })))
        return [
          el('div', { className: 'md' }, renderMarkdown(str(payload.text))),
          el('div', { className: 'actions dropdown' }, select, el('button', { text: 'Send', attrs: { type: 'button' }, on: { click: () => send('text', { text: select.value }) } })),
        ]
      }
      break
    case 'bloc':
      if (Array.isArray(payload.items)) return [el('div', { className: 'bloc' }, ...payload.items.flatMap((/** @type {any} */ item) => renderPayload(str(item?.type), item?.payload, send)))]
      break
  }
  return [el('pre', { className: 'raw', text: JSON.stringify({ type, payload }, null, 2) })]
}

/**
 * The last segment of a URL's path, for a file without a title.
 * @param {unknown} url
 */
function fileName(url) {
  const text = str(url)
  try {
    return decodeURIComponent(new URL(text, location.href).pathname.split('/').pop() || text)
  } catch {
    return text
  }
}

/**
 * A message in the chat: who, when, its type, the rendered payload; its `{}` button shows the record.
 * @param {Message} message
 * @param {{ send: Send, openJson: (title: string, value: unknown) => void }} options
 */
export function renderMessage(message, { send, openJson }) {
  const mine = message.direction === 'incoming'
  return el(
    'li',
    { className: `message ${mine ? 'from-user' : 'from-bot'} type-${message.type.replace(/[^\w-]/g, '_')}`, attrs: { 'data-id': message.id } },
    el(
      'div',
      { className: 'meta' },
      el('span', { text: mine ? message.userId : 'bot' }),
      el('time', { text: timeOfDay(message.createdAt), title: message.createdAt }),
      message.type === 'text' ? undefined : el('span', { className: 'type', text: message.type }),
      el('button', { className: 'json', text: '{}', title: 'the message as JSON', attrs: { type: 'button' }, on: { click: () => openJson(`message ${message.id}`, message) } }),
    ),
    el('div', { className: 'bubble' }, ...renderPayload(message.type, message.payload, send)),
  )
}
