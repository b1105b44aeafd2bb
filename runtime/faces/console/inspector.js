// @ts-check
/**
 * The inspector: the conversation's and the user's records with their tags, and every state of the conversation,
 * the user and the bot, each with its expiry counting down on the server's clock (the virtual one stands still
 * until moved). `refreshSoon()` reads them again; the app calls it as the timeline says something changed.
 */
import { all, ApiError, get, path } from './api.js'
import { duration, el, timeOfDay } from './dom.js'

/**
 * @typedef {{ botId: string, conversationId?: string, userId: string }} Target
 * @typedef {{ now(): number }} ServerClock
 */

/**
 * What a read answers, or `none` when the record is not there (yet): a user who has not written, a conversation
 * not started.
 * @template T
 * @param {Promise<T>} read
 * @param {T | undefined} [none]
 */
const orNone = (read, none) => read.catch((error) => (error instanceof ApiError && error.status === 404 ? none : Promise.reject(error)))

/**
 * A record's tags as a two-column table, or a line saying there are none.
 * @param {Record<string, string> | undefined} tags
 */
function tagTable(tags) {
  const entries = Object.entries(tags ?? {})
  if (entries.length === 0) return el('p', { className: 'empty', text: 'no tags' })
  return el('table', { className: 'tags' }, ...entries.map(([name, value]) => el('tr', {}, el('th', { text: name }), el('td', { text: String(value) }))))
}

/**
 * @param {HTMLElement} root
 * @param {{ clock: ServerClock, openJson: (title: string, value: unknown) => void, onError: (error: unknown) => void }} options
 */
export function createInspector(root, { clock, openJson, onError }) {
  /** @type {Target | undefined} */
  let target
  /** Countdowns to update every second: the element and its state's expiry (ms). */
  /** @type {{ node: HTMLElement, expiresAt: number }[]} */
  let countdowns = []
  let generation = 0
  /** @type {number | undefined} */
  let pending

  /**
   * @param {string} title
   * @param {unknown} record
   * @param {Node[]} body
   */
  const section = (title, record, body) =>
    el(
      'section',
      { className: 'record' },
      el('h3', {}, title, record ? el('button', { className: 'json', text: '{}', title: 'as JSON', attrs: { type: 'button' }, on: { click: () => openJson(title, record) } }) : undefined),
      ...body,
    )

  /** @param {any} state */
  function stateItem(state) {
    const expiresAt = state.expiresAt ? Date.parse(state.expiresAt) : undefined
    const countdown = el('span', { className: 'countdown' })
    if (expiresAt !== undefined) countdowns.push({ node: countdown, expiresAt })
    return el(
      'li',
      { className: 'state', attrs: { 'data-state': `${state.type}:${state.name}` } },
      el(
        'div',
        { className: 'state-head' },
        el('span', { className: 'state-name', text: state.name }),
        el('span', { className: 'owner', text: `${state.type} ${state.id}`, title: `${state.type} ${state.id}` }),
        expiresAt === undefined ? el('span', { className: 'no-expiry', text: 'no expiry' }) : countdown,
        el('button', { className: 'json', text: '{}', title: 'as JSON', attrs: { type: 'button' }, on: { click: () => openJson(`${state.type} ${state.id} ${state.name}`, state) } }),
      ),
      el('pre', { className: 'payload', text: JSON.stringify(state.payload, null, 2) }),
      el('div', { className: 'stamp', text: `set ${timeOfDay(state.updatedAt)}${state.expiresAt ? ` · expires ${state.expiresAt.replace('T', ' ').slice(0, 19)}` : ''}` }),
    )
  }

  function tick() {
    const now = clock.now()
    for (const { node, expiresAt } of countdowns) {
      const left = expiresAt - now
      node.textContent = left > 0 ? `expires in ${duration(left)}` : 'expiring'
      node.classList.toggle('soon', left <= 60_000)
    }
  }

  async function refresh() {
    const mine = ++generation
    if (!target) return root.replaceChildren(el('p', { className: 'empty', text: 'Pick a bot to inspect.' }))
    const { botId, conversationId, userId } = target
    const owners = /** @type {[string, string][]} */ ([
      ...(conversationId ? [['conversation', conversationId]] : []),
      ['user', userId],
      ['bot', botId],
    ])
    try {
      const [conversation, user, ...stateLists] = await Promise.all([
        conversationId ? orNone(get(path`/bots/${botId}/conversations/${conversationId}`).then((r) => r.conversation)) : undefined,
        orNone(get(path`/bots/${botId}/users/${userId}`).then((r) => r.user)),
        ...owners.map(([type, id]) => orNone(all(path`/bots/${botId}/states/${type}/${id}`, 'states'), [])),
      ])
      if (mine !== generation) return
      countdowns = []
      const states = stateLists.flat()
      root.replaceChildren(
        section(
          conversationId ? `Conversation ${conversationId}` : 'Conversation',
          conversation,
          conversation
            ? [el('p', { className: 'facts', text: `${conversation.integration}/${conversation.channel} · since ${conversation.createdAt.replace('T', ' ').slice(0, 19)}` }), tagTable(conversation.tags)]
            : [el('p', { className: 'empty', text: 'A new conversation starts with the next message.' })],
        ),
        section(`User ${userId}`, user, user ? [user.name ? el('p', { className: 'facts', text: user.name }) : undefined, tagTable(user.tags)].filter((n) => n !== undefined) : [el('p', { className: 'empty', text: 'Not created yet.' })]),
        section(`States (${states.length})`, undefined, [
          states.length === 0 ? el('p', { className: 'empty', text: 'No state of this conversation, user or bot.' }) : el('ul', { className: 'states' }, ...states.map(stateItem)),
        ]),
      )
      tick()
    } catch (error) {
      if (mine === generation) onError(error)
    }
  }

  setInterval(tick, 1000)
  return {
    /** @param {Target | undefined} next */
    show(next) {
      target = next
      void refresh()
    },
    /** Reads everything again shortly (changes come in bursts: one refresh for them all). */
    refreshSoon() {
      clearTimeout(pending)
      pending = setTimeout(() => void refresh(), 150)
    },
    tick,
  }
}
