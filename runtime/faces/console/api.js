// @ts-check
/**
 * The console's one way to the server: JSON over fetch, and server-sent events read from a fetch body (an
 * EventSource cannot send the bearer token). With `--token T` the page is opened once as `/?token=T`: the token
 * moves to this tab's sessionStorage, leaves the address bar, and goes with each request as `Authorization: Bearer T`.
 */

const TOKEN_KEY = 'localbot.token'

/** Takes `?token=` from the address, keeps it for this tab and removes it from the address bar and history. */
export function takeToken() {
  const url = new URL(location.href)
  const token = url.searchParams.get('token')
  if (token === null) return
  sessionStorage.setItem(TOKEN_KEY, token)
  url.searchParams.delete('token')
  history.replaceState(history.state, '', url)
}

/** @param {string} token */
export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token)
}

/** @returns {Record<string, string>} */
function authorization() {
  const token = sessionStorage.getItem(TOKEN_KEY)
  return token ? { authorization: `Bearer ${token}` } : {}
}

/** An error answer: `status` and the server's `{ code, type, message }`. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ type?: string, message?: string }} body
   */
  constructor(status, body) {
    super(body.message ?? `HTTP ${status}`)
    this.status = status
    this.type = body.type
  }
}

/**
 * A path with each interpolated value encoded as one segment (or query value): `path\`/bots/${id}\``.
 * @param {TemplateStringsArray} strings
 * @param {(string | number)[]} values
 */
export function path(strings, ...values) {
  return strings.reduce((out, part, i) => out + part + (i < values.length ? encodeURIComponent(String(values[i])) : ''), '')
}

/**
 * @param {string} method
 * @param {string} target
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
async function call(method, target, body) {
  const headers = { ...authorization(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }
  const res = await fetch(target, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  /** @type {any} */
  let json = {}
  try {
    json = text ? JSON.parse(text) : {}
  } catch {
    json = { message: text }
  }
  if (!res.ok) throw new ApiError(res.status, json)
  return json
}

/** @param {string} target */
export const get = (target) => call('GET', target)
/**
 * @param {string} target
 * @param {unknown} body
 */
export const post = (target, body) => call('POST', target, body)

/**
 * Every page of a list route (`{ [key]: T[], meta: { nextToken } }`), up to `max` items.
 * @param {string} target
 * @param {string} key
 * @param {number} [max]
 * @returns {Promise<any[]>}
 */
export async function all(target, key, max = 1000) {
  const items = []
  let nextToken
  do {
    const page = await get(`${target}${target.includes('?') ? '&' : '?'}limit=100${nextToken ? `&nextToken=${encodeURIComponent(nextToken)}` : ''}`)
    items.push(...page[key])
    nextToken = page.meta?.nextToken
  } while (nextToken && items.length < max)
  return items
}

/**
 * Reads a server-sent event stream until `signal` aborts, calling `onEvent` with each event's name, parsed data
 * and id; when the connection drops it connects again after a pause, with `resume(lastId)` as the target.
 * @param {object} options
 * @param {(lastId: string | undefined) => string} options.resume the target, given the last event id seen
 * @param {(name: string, data: any, id: string | undefined) => void} options.onEvent
 * @param {(error: unknown) => void} [options.onError]
 * @param {AbortSignal} options.signal
 */
export async function stream({ resume, onEvent, onError, signal }) {
  /** @type {string | undefined} */
  let lastId
  while (!signal.aborted) {
    try {
      const res = await fetch(resume(lastId), { headers: { ...authorization(), accept: 'text/event-stream' }, signal })
      if (!res.ok || !res.body) throw new ApiError(res.status, await res.json().catch(() => ({})))
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        let end
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          /** @type {{ name: string, data: string[], id: string | undefined }} */
          const event = { name: 'message', data: [], id: undefined }
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':')
            if (colon === 0) continue
            const field = colon < 0 ? line : line.slice(0, colon)
            const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
            if (field === 'event') event.name = text
            else if (field === 'data') event.data.push(text)
            else if (field === 'id') event.id = text
          }
          if (event.id !== undefined) lastId = event.id
          if (event.data.length > 0) onEvent(event.name, JSON.parse(event.data.join('\n')), event.id)
        }
      }
    } catch (error) {
      if (signal.aborted) return
      onError?.(error)
      if (error instanceof ApiError && error.status === 401) return
    }
    // Dropped (the server restarted, the laptop slept): try again shortly, from the last event seen.
    await new Promise((resolve) => setTimeout(resolve, 2000))
  }
}
