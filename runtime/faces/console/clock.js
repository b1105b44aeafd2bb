// @ts-check
/**
 * The server's clock in the header: its time (GET /clock), and with `--virtual-clock` the controls that move it
 * forward (POST /clock), firing on the server whatever falls due on the way.
 */
import { get, post } from './api.js'

/**
 * Seconds in `30s`, `90m`, `2h`, `1d` (a bare number: seconds); undefined if it is none of those.
 * @param {string} text
 */
export function seconds(text) {
  const m = /^\+?\s*(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(text.trim())
  return m ? Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[/** @type {'' | 's'} */ (m[2])] : undefined
}

/**
 * @param {object} elements
 * @param {HTMLElement} elements.now where the time shows
 * @param {HTMLElement} elements.controls the virtual clock's buttons (`data-advance`: seconds), hidden for the real one
 * @param {HTMLFormElement} elements.form
 * @param {HTMLInputElement} elements.amount the form's duration
 * @param {object} options
 * @param {() => void} options.onMoved after the clock moved
 * @param {(error: unknown) => void} options.onError
 * @param {(text: string) => void} options.notify
 */
export function createClock({ now, controls, form, amount }, { onMoved, onError, notify }) {
  /** The server's time at the last read (ms), and ours then: the real clock runs on between reads, the virtual one does not. */
  const last = { server: Date.now(), local: Date.now(), virtual: false }
  const clock = {
    now: () => (last.virtual ? last.server : last.server + (Date.now() - last.local)),
    /** Reads the server's time, and whether it is virtual. */
    async read() {
      const answer = await get('/clock')
      last.virtual = answer.virtual === true
      controls.hidden = !last.virtual
      set(answer.now)
    },
  }

  /** @param {string} iso */
  function set(iso) {
    last.server = Date.parse(iso)
    last.local = Date.now()
    show()
  }

  function show() {
    now.textContent = `${new Date(clock.now()).toISOString().replace('T', ' ').slice(0, 19)}${last.virtual ? ' virtual' : ' UTC'}`
  }

  /** @param {number} by seconds */
  async function advance(by) {
    try {
      set((await post('/clock', { advance: by })).now)
      onMoved()
    } catch (error) {
      onError(error)
    }
  }

  for (const button of controls.querySelectorAll('[data-advance]')) button.addEventListener('click', () => void advance(Number(/** @type {HTMLElement} */ (button).dataset.advance)))
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const by = seconds(amount.value)
    if (by === undefined) return notify(`not a duration: ${JSON.stringify(amount.value)} (say 30s, 90m, 2h or 1d)`)
    void advance(by)
  })
  setInterval(show, 1000)
  return clock
}
