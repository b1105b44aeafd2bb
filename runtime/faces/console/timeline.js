// @ts-check
/**
 * The bot's timeline: its messages, events, state changes and expiries, action calls, log lines and errors as they
 * happen, each a line that opens its JSON. Filters by kind and by the current conversation.
 */
import { el, timeOfDay } from './dom.js'

/**
 * @typedef {{ seq: number, at: string, botId: string, kind: string, conversationId?: string, userId?: string,
 *   level?: string, summary: string, data: unknown }} Entry
 */

/** Entries kept in the page: the oldest go first. */
const KEPT = 1000

/** The filter's choices: which kinds each shows. */
const FILTERS = /** @type {Record<string, (e: Entry) => boolean>} */ ({
  all: () => true,
  messages: (e) => e.kind === 'incoming' || e.kind === 'reply',
  events: (e) => e.kind === 'event',
  states: (e) => e.kind === 'state' || e.kind === 'expired',
  actions: (e) => e.kind === 'action',
  logs: (e) => e.kind === 'log',
  errors: (e) => e.level === 'error' || e.level === 'warn' || (e.kind === 'event' && / failed/.test(e.summary)),
})

/**
 * @param {object} elements
 * @param {HTMLOListElement} elements.list
 * @param {HTMLSelectElement} elements.filter
 * @param {HTMLInputElement} elements.onlyConversation
 * @param {(title: string, value: unknown) => void} openJson
 */
export function createTimeline({ list, filter, onlyConversation }, openJson) {
  /** @type {Entry[]} */
  let entries = []
  /** @type {string | undefined} */
  let conversationId

  for (const name of Object.keys(FILTERS)) filter.append(el('option', { text: name, attrs: { value: name } }))

  /** @param {Entry} entry */
  const shown = (entry) => (FILTERS[filter.value] ?? FILTERS.all)(entry) && (!onlyConversation.checked || entry.conversationId === conversationId)

  /** @param {Entry} entry */
  function line(entry) {
    const level = entry.level === 'error' || entry.level === 'warn' ? ` level-${entry.level}` : ''
    const failed = entry.kind === 'event' && / failed/.test(entry.summary) ? ' level-error' : ''
    return el(
      'li',
      { className: `entry kind-${entry.kind}${level}${failed}`, attrs: { 'data-seq': String(entry.seq) } },
      el(
        'button',
        { attrs: { type: 'button' }, title: 'show as JSON', on: { click: () => openJson(`${entry.kind} #${entry.seq}`, entry) } },
        el('time', { text: timeOfDay(entry.at), title: entry.at }),
        el('span', { className: 'kind', text: entry.kind === 'log' ? entry.level ?? 'log' : entry.kind }),
        el(
          'span',
          { className: 'summary' },
          entry.summary,
          entry.conversationId ? el('span', { className: 'where', text: ` · ${entry.conversationId.length > 12 ? `…${entry.conversationId.slice(-8)}` : entry.conversationId}`, title: entry.conversationId }) : undefined,
        ),
      ),
    )
  }

  /** Keeps the newest line in view, unless the reader has scrolled up. */
  const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 40

  function render() {
    list.replaceChildren(...entries.filter(shown).map(line))
    list.scrollTop = list.scrollHeight
  }
  filter.addEventListener('change', render)
  onlyConversation.addEventListener('change', render)

  return {
    /** @param {Entry} entry */
    add(entry) {
      entries.push(entry)
      if (entries.length > KEPT) {
        entries = entries.slice(-KEPT)
        return render()
      }
      if (!shown(entry)) return
      const follow = atBottom()
      list.append(line(entry))
      if (follow) list.scrollTop = list.scrollHeight
    },
    clear() {
      entries = []
      list.replaceChildren()
    },
    /** @param {string | undefined} id */
    setConversation(id) {
      conversationId = id
      if (onlyConversation.checked) render()
    },
  }
}
