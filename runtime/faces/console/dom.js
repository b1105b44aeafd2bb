// @ts-check
/**
 * Building the page from data that is not ours (a bot's messages, ids, states): every text goes in through
 * textContent or a text node, never as HTML, and links and media only with a URL of a safe scheme.
 */

/**
 * @typedef {object} Props
 * @property {string} [className]
 * @property {string} [text] the element's textContent
 * @property {string} [title]
 * @property {Record<string, string>} [attrs] set with setAttribute (never an `on...` handler)
 * @property {Record<string, (event: any) => void>} [on] event listeners
 */

/**
 * An element with its properties and children (strings become text nodes).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {(Node | string | undefined | false)[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  if (props.className) node.className = props.className
  if (props.text !== undefined) node.textContent = props.text
  if (props.title !== undefined) node.title = props.title
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (/^on/i.test(name)) throw new Error(`no inline handlers: ${name}`)
    node.setAttribute(name, value)
  }
  for (const [name, listener] of Object.entries(props.on ?? {})) node.addEventListener(name, listener)
  for (const child of children) if (child !== undefined && child !== false) node.append(child)
  return node
}

/** Schemes a link may open. */
const LINK_SCHEMES = ['http:', 'https:', 'mailto:']
/** Schemes an image, sound or video may load from. */
const MEDIA_SCHEMES = ['http:', 'https:', 'data:', 'blob:']

/**
 * The URL if its scheme is one a link (or, with `media`, an image, sound or video) may use; else undefined, so
 * that `javascript:` and the like never reach an href or src.
 * @param {unknown} url
 * @param {{ media?: boolean }} [options]
 */
export function safeUrl(url, options = {}) {
  if (typeof url !== 'string' || url === '') return undefined
  try {
    const parsed = new URL(url, location.href)
    return (options.media ? MEDIA_SCHEMES : LINK_SCHEMES).includes(parsed.protocol) ? parsed.href : undefined
  } catch {
    return undefined
  }
}

/**
 * A link that opens in a new tab, or the bare text when its URL is not safe.
 * @param {unknown} url
 * @param {string} text
 * @param {string} [className]
 */
export function link(url, text, className) {
  const href = safeUrl(url)
  if (!href) return el('span', { className, text, title: `not a link: ${String(url)}` })
  return el('a', { className, text, attrs: { href, target: '_blank', rel: 'noopener noreferrer' } })
}

/**
 * A length of time as a countdown reads: `42s`, `9:05`, `1:02:03`, `3d 4h`.
 * @param {number} ms
 */
export function duration(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000))
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0')
  if (s >= 86400) return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`
  if (s >= 3600) return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`
  if (s >= 60) return `${Math.floor(s / 60)}:${pad(s % 60)}`
  return `${s}s`
}

/**
 * A time of day from an ISO date, as `HH:MM:SS` (UTC, as the server's log and the virtual clock say).
 * @param {string} iso
 */
export function timeOfDay(iso) {
  return iso.length >= 19 ? iso.slice(11, 19) : iso
}
