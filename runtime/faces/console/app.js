// @ts-check
/**
 * The console's page: pick a bot, a channel, a user and a conversation; chat; the inspector and the timeline
 * follow the bot live (its timeline stream says when anything changes); the virtual clock's controls; transcripts
 * saved and replayed. What is picked stays in the address's fragment, so a reload comes back to it.
 */
import { all, ApiError, get, path, post, setToken, stream, takeToken } from './api.js'
import { createClock } from './clock.js'
import { el } from './dom.js'
import { createInspector } from './inspector.js'
import { renderMessage } from './messages.js'
import { createTimeline } from './timeline.js'
import { download, readTranscript, transcriptOf } from './transcript.js'

/**
 * @typedef {import('./messages.js').Message} Message
 * @typedef {import('./timeline.js').Entry} Entry
 * @typedef {{ id: string, defaultIntegration: string, integrations: { alias: string, channels: string[] }[] }} Bot
 */

/**
 * An element of the page by id.
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
const $ = (id) => /** @type {T} */ (document.getElementById(id))

const ui = {
  bot: /** @type {HTMLSelectElement} */ ($('bot')),
  channel: /** @type {HTMLSelectElement} */ ($('channel')),
  user: /** @type {HTMLInputElement} */ ($('user')),
  conversation: /** @type {HTMLSelectElement} */ ($('conversation')),
  newConversation: $('new-conversation'),
  chatTitle: $('chat-title'),
  messages: /** @type {HTMLOListElement} */ ($('messages')),
  composer: /** @type {HTMLFormElement} */ ($('composer')),
  text: /** @type {HTMLInputElement} */ ($('text')),
  sendJson: /** @type {HTMLFormElement} */ ($('send-json')),
  jsonKind: /** @type {HTMLSelectElement} */ ($('json-kind')),
  jsonType: /** @type {HTMLInputElement} */ ($('json-type')),
  jsonPayload: /** @type {HTMLTextAreaElement} */ ($('json-payload')),
  saveTranscript: $('save-transcript'),
  loadTranscript: /** @type {HTMLInputElement} */ ($('load-transcript')),
  clockNow: $('clock-now'),
  clockControls: $('clock-controls'),
  clockForm: /** @type {HTMLFormElement} */ ($('clock-form')),
  clockAmount: /** @type {HTMLInputElement} */ ($('clock-amount')),
  notice: $('notice'),
  dialog: /** @type {HTMLDialogElement} */ ($('json-dialog')),
  dialogTitle: $('json-title'),
  dialogBody: $('json-body'),
}

/** What is picked; `conversationId` undefined: the next message starts a new conversation. */
const current = {
  /** @type {Bot[]} */
  bots: [],
  botId: '',
  /** @type {string | undefined} */
  conversationId: undefined,
  /** Ids of the messages in the chat, so one that arrives twice (its answer and the stream) shows once. */
  shown: new Set(),
  /** @type {AbortController | undefined} */
  streaming: undefined,
}

// ---- notices and the JSON dialog -------------------------------------------------------------------------------

/**
 * Says something above the panes until dismissed; an error says what failed.
 * @param {string} text
 * @param {'error' | 'info'} [kind]
 */
function notify(text, kind = 'error') {
  ui.notice.hidden = false
  ui.notice.className = `notice ${kind}`
  ui.notice.replaceChildren(el('span', { text }), el('button', { text: 'Dismiss', attrs: { type: 'button' }, on: { click: () => (ui.notice.hidden = true) } }))
}

/** @param {unknown} error */
function fail(error) {
  if (error instanceof ApiError && error.status === 401) return askToken()
  notify(error instanceof Error ? error.message : String(error))
}

/** The server wants its token (`--token`): ask for it, keep it for this tab, start again. */
function askToken() {
  const input = el('input', { attrs: { type: 'password', placeholder: 'token', 'aria-label': 'token', autocomplete: 'off' } })
  const form = el(
    'form',
    { on: { submit: (/** @type {Event} */ e) => (e.preventDefault(), setToken(input.value), location.reload()) } },
    el('span', { text: 'This localbot was started with --token: enter it (or open the console as /?token=…). ' }),
    input,
    el('button', { text: 'Use' }),
  )
  ui.notice.hidden = false
  ui.notice.className = 'notice error'
  ui.notice.replaceChildren(form)
  input.focus()
}

/**
 * @param {string} title
 * @param {unknown} value
 */
function openJson(title, value) {
  ui.dialogTitle.textContent = title
  ui.dialogBody.textContent = JSON.stringify(value, null, 2)
  ui.dialog.showModal()
}
$('json-close').addEventListener('click', () => ui.dialog.close())
$('json-copy').addEventListener('click', () => void navigator.clipboard?.writeText(ui.dialogBody.textContent ?? ''))
ui.dialog.addEventListener('click', (e) => e.target === ui.dialog && ui.dialog.close())

// ---- the clock ---------------------------------------------------------------------------------------------------

const clock = createClock(
  { now: ui.clockNow, controls: ui.clockControls, form: ui.clockForm, amount: ui.clockAmount },
  {
    onMoved: () => {
      inspector.tick()
      inspector.refreshSoon()
    },
    onError: fail,
    notify,
  },
)

// ---- panes -------------------------------------------------------------------------------------------------------

const inspector = createInspector($('inspector'), { clock, openJson, onError: fail })
const timeline = createTimeline(
  { list: /** @type {HTMLOListElement} */ ($('timeline')), filter: /** @type {HTMLSelectElement} */ ($('timeline-filter')), onlyConversation: /** @type {HTMLInputElement} */ ($('timeline-conversation')) },
  openJson,
)

/** Puts what is picked in the address's fragment. */
function remember() {
  const hash = new URLSearchParams({ bot: current.botId, user: ui.user.value, ...(current.conversationId ? { conversation: current.conversationId } : {}) })
  history.replaceState(history.state, '', `#${hash}`)
}

/** @param {Message} message */
function addMessage(message) {
  if (current.shown.has(message.id)) return
  current.shown.add(message.id)
  const follow = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 80
  ui.messages.append(renderMessage(message, { send: (type, payload) => void send(type, payload), openJson }))
  if (follow) ui.messages.scrollTop = ui.messages.scrollHeight
}

function showTarget() {
  ui.chatTitle.textContent = current.conversationId ? `Chat · ${current.conversationId}` : 'Chat · new conversation'
  timeline.setConversation(current.conversationId)
  inspector.show({ botId: current.botId, conversationId: current.conversationId, userId: ui.user.value || 'user' })
  remember()
}

/** The integration and channel picked, as the message route takes them. */
function route() {
  const [integration, channel] = ui.channel.value.split('/')
  return { integration, channel }
}

/** Lists the bot's conversations in the picker, newest first, the current one selected. */
async function listConversations() {
  const conversations = await all(path`/bots/${current.botId}/conversations`, 'conversations', 500)
  conversations.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0))
  ui.conversation.replaceChildren(
    el('option', { text: '(new conversation)', attrs: { value: '' } }),
    ...conversations.map((c) => el('option', { text: `${c.id} · ${c.integration}`, attrs: { value: c.id } })),
  )
  if (current.conversationId && !conversations.some((c) => c.id === current.conversationId))
    ui.conversation.append(el('option', { text: current.conversationId, attrs: { value: current.conversationId } }))
  ui.conversation.value = current.conversationId ?? ''
}

/**
 * Shows a conversation: its channel picked, its messages (oldest first), its user the last one who wrote.
 * @param {string | undefined} id
 */
async function openConversation(id) {
  current.conversationId = id || undefined
  current.shown.clear()
  ui.messages.replaceChildren()
  if (current.conversationId) {
    try {
      const { conversation } = await get(path`/bots/${current.botId}/conversations/${current.conversationId}`)
      const value = `${conversation.integration}/${conversation.channel}`
      if (![...ui.channel.options].some((o) => o.value === value)) ui.channel.append(el('option', { text: value, attrs: { value } }))
      ui.channel.value = value
      const messages = /** @type {Message[]} */ (await all(path`/bots/${current.botId}/conversations/${current.conversationId}/messages`, 'messages'))
      messages.reverse()
      const lastUser = messages.findLast((m) => m.direction === 'incoming')
      if (lastUser) ui.user.value = lastUser.userId
      for (const message of messages) addMessage(message)
    } catch (error) {
      fail(error)
    }
  }
  ui.conversation.value = current.conversationId ?? ''
  showTarget()
}

/**
 * Follows the bot's timeline from its first kept entry: each entry goes to the timeline pane, a message of the
 * current conversation to the chat, and anything at all makes the inspector read again.
 */
function follow() {
  current.streaming?.abort()
  const streaming = (current.streaming = new AbortController())
  const botId = current.botId
  timeline.clear()
  void stream({
    resume: (lastId) => `${path`/bots/${botId}/timeline/stream`}${lastId ? `?since=${encodeURIComponent(lastId)}` : ''}`,
    signal: streaming.signal,
    onError: fail,
    onEvent: (name, /** @type {Entry} */ entry) => {
      if (name !== 'entry' || botId !== current.botId) return
      timeline.add(entry)
      if ((entry.kind === 'incoming' || entry.kind === 'reply') && entry.conversationId === current.conversationId) addMessage(/** @type {Message} */ (entry.data))
      if (entry.kind === 'incoming' && entry.conversationId && ![...ui.conversation.options].some((o) => o.value === entry.conversationId)) void listConversations().catch(fail)
      inspector.refreshSoon()
    },
  })
}

/** @param {string} botId */
async function selectBot(botId) {
  const bot = current.bots.find((b) => b.id === botId) ?? current.bots[0]
  if (!bot) return
  current.botId = bot.id
  ui.bot.value = bot.id
  const routes = bot.integrations.flatMap((i) => i.channels.map((channel) => `${i.alias}/${channel}`))
  if (routes.length === 0) routes.push('chat/channel')
  ui.channel.replaceChildren(...routes.map((value) => el('option', { text: value, attrs: { value } })))
  ui.channel.value = routes.find((r) => r.startsWith(`${bot.defaultIntegration}/`)) ?? routes[0]
  follow()
  await listConversations()
}

// ---- sending -----------------------------------------------------------------------------------------------------

/**
 * Sends a message from the user in the current conversation (a new one when none is picked); the message and the
 * replies made while handling it show at once, later replies come through the timeline.
 * @param {string} type
 * @param {Record<string, unknown>} payload
 * @returns {Promise<boolean>} whether it was sent
 */
function send(type, payload) {
  // One at a time: the first message of a new conversation must have made it before the next can join it.
  const sent = sending.then(() => sendNow(type, payload))
  sending = sent
  return sent
}
/** The last message sent, or being sent. */
let sending = Promise.resolve(true)

/**
 * @param {string} type
 * @param {Record<string, unknown>} payload
 */
async function sendNow(type, payload) {
  const botId = current.botId
  const userId = ui.user.value.trim() || 'user'
  try {
    const answer = await post(path`/bots/${botId}/messages`, { userId, conversationId: current.conversationId, type, payload, ...route() })
    if (botId !== current.botId) return true
    if (!current.conversationId) {
      current.conversationId = answer.conversationId
      await listConversations()
      showTarget()
    }
    if (answer.conversationId === current.conversationId) for (const message of [answer.message, ...answer.replies]) addMessage(message)
    return true
  } catch (error) {
    fail(error)
    return false
  }
}

ui.composer.addEventListener('submit', async (e) => {
  e.preventDefault()
  const text = ui.text.value
  if (text.trim() === '') return
  ui.text.value = ''
  if (!(await send('text', { text }))) ui.text.value = text
})

ui.sendJson.addEventListener('submit', async (e) => {
  e.preventDefault()
  const type = ui.jsonType.value.trim()
  if (!type) return notify('give a type: a message type (image, card...) or the event\'s')
  /** @type {Record<string, unknown>} */
  let payload
  try {
    payload = JSON.parse(ui.jsonPayload.value || '{}')
  } catch (error) {
    return notify(`the payload is not JSON: ${/** @type {Error} */ (error).message}`)
  }
  if (ui.jsonKind.value === 'message') return void (await send(type, payload))
  try {
    const userId = ui.user.value.trim() || 'user'
    await post(path`/bots/${current.botId}/events`, { type, payload, ...(current.conversationId ? { conversationId: current.conversationId, userId } : {}) })
  } catch (error) {
    fail(error)
  }
})

ui.bot.addEventListener('change', async () => {
  current.conversationId = undefined
  await selectBot(ui.bot.value)
  await openConversation(undefined)
})
ui.conversation.addEventListener('change', () => void openConversation(ui.conversation.value))
ui.newConversation.addEventListener('click', () => void openConversation(undefined))
// A conversation stays in its channel: another channel means a new conversation.
ui.channel.addEventListener('change', () => void openConversation(undefined))
ui.user.addEventListener('change', showTarget)

// ---- transcripts -------------------------------------------------------------------------------------------------

ui.saveTranscript.addEventListener('click', async () => {
  const { botId, conversationId } = current
  if (!conversationId) return notify('no conversation yet: send a message first', 'info')
  try {
    const messages = /** @type {Message[]} */ (await all(path`/bots/${botId}/conversations/${conversationId}/messages`, 'messages', 100_000))
    const savedAt = new Date(clock.now()).toISOString()
    download(`${botId}-${conversationId}.json`, transcriptOf({ botId, conversationId, ...route(), savedAt, messages: messages.reverse() }))
  } catch (error) {
    fail(error)
  }
})

ui.loadTranscript.addEventListener('change', async () => {
  const file = ui.loadTranscript.files?.[0]
  ui.loadTranscript.value = ''
  if (!file) return
  const transcript = await readTranscript(file)
  if ('error' in transcript) return notify(transcript.error)
  // Replayed into a new conversation, in its channel when this bot has it, each message once the last is handled.
  await openConversation(undefined)
  const value = `${transcript.integration}/${transcript.channel}`
  if ([...ui.channel.options].some((o) => o.value === value)) ui.channel.value = value
  for (const message of transcript.said) {
    ui.user.value = message.userId || ui.user.value
    if (!(await send(message.type, message.payload))) return
  }
  notify(`replayed ${transcript.said.length} messages of ${file.name} into ${current.conversationId ?? 'no conversation'}`, 'info')
})

// ---- start -------------------------------------------------------------------------------------------------------

async function start() {
  takeToken()
  try {
    await clock.read()
    current.bots = (await get('/bots')).bots
  } catch (error) {
    return fail(error)
  }
  if (current.bots.length === 0) return notify('no bot runs: add a bot folder (see the README) and it loads', 'info')
  ui.bot.replaceChildren(...current.bots.map((b) => el('option', { text: b.id, attrs: { value: b.id } })))
  const picked = new URLSearchParams(location.hash.slice(1))
  if (picked.get('user')) ui.user.value = /** @type {string} */ (picked.get('user'))
  await selectBot(picked.get('bot') ?? '')
  await openConversation(picked.get('bot') === current.botId ? picked.get('conversation') ?? undefined : undefined)
  ui.text.focus()
}

void start()
