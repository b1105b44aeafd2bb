/**
 * The web console in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core) against
 * localbot in-process, over memory-level, with a virtual clock, a token, and the console's test bot (a drinks desk:
 * test/fixtures/console-bots/desk). Without Chromium the tests say they are skipped and why; in CI (CI=true), where
 * .ci/run installs it, they fail instead. LOCALBOT_SCREENSHOTS=DIR saves the README's screenshots there.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join, resolve } from 'node:path'
import { after, before, describe, it, type TestContext } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startHttp } from '../runtime/faces/http.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime, type Runtime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

const TOKEN = 'console-test-token'

/** Chromium's executable: CHROMIUM_PATH when set, else where Debian's and Google's packages put it. */
const chromiumPath = (process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']).find((path) => existsSync(path))
const screenshots = process.env.LOCALBOT_SCREENSHOTS

let runtime: Runtime
let url: string
let browser: Browser | undefined
let close: () => Promise<void>

before(async () => {
  const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
  runtime = await startRuntime({
    botsDir: resolve('test/fixtures/console-bots'),
    store,
    clock: new VirtualClock(Date.parse('2026-11-25T12:00:00.000Z')),
    logger: createLogger({ level: 'silent' }),
  })
  const served = await startHttp(runtime, { host: '127.0.0.1', port: 0 }, { token: TOKEN, advanceClock: (s) => runtime.advanceClock!(s) })
  url = served.url
  if (chromiumPath) browser = await chromium.launch({ executablePath: chromiumPath })
  close = async () => {
    await browser?.close()
    served.server.closeAllConnections()
    await served.stop()
    await runtime.close()
  }
})
after(() => close())

/** The browser, or the test skipped (a developer's machine without Chromium) or failed (CI, which installs it). */
function needBrowser(t: TestContext): Browser | undefined {
  if (browser) return browser
  const why = `no Chromium at ${process.env.CHROMIUM_PATH || '/usr/bin/chromium'}: \`apt-get install chromium\` (or set CHROMIUM_PATH) to run the browser tests`
  if (process.env.CI) assert.fail(`${why}; .ci/run installs it`)
  t.skip(why)
  return undefined
}

/** A new tab on the console, opened with the token, once the bots are listed. */
async function openConsole(b: Browser, path = `/?token=${TOKEN}`): Promise<Page> {
  const page = await newTab(b)
  await page.goto(url + path)
  await page.locator('#bot option[value="desk"]').waitFor({ state: 'attached' })
  return page
}

/** A new tab, the size of the README's screenshots; what it throws is kept for `done`. */
async function newTab(b: Browser): Promise<Page> {
  const page = await b.newPage({ viewport: { width: 1280, height: 760 } })
  page.setDefaultTimeout(10_000)
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  pageErrors.set(page, errors)
  return page
}

/** What each page threw, for `done`. */
const pageErrors = new WeakMap<Page, string[]>()

/** Closes a page that threw nothing and shows no error. */
async function done(page: Page): Promise<void> {
  assert.equal(await page.locator('#notice.error').isVisible(), false, (await page.locator('#notice').textContent()) ?? '')
  await page.close()
  assert.deepEqual(pageErrors.get(page), [], 'the page threw')
}

const chat = (page: Page) => page.locator('#messages')

async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('message', { exact: true }).fill(text)
  await page.getByLabel('message', { exact: true }).press('Enter')
}

async function shoot(page: Page, name: string): Promise<void> {
  if (screenshots) await page.screenshot({ path: join(screenshots, name) })
}

describe('the console is served', () => {
  it('at / and under /console/, without the token (its files hold no data), which every data route still needs', async () => {
    const page = await fetch(`${url}/`)
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-type')!, /^text\/html/)
    assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/)
    assert.match(await page.text(), /<script type="module" src="\/console\/app.js">/)
    const script = await fetch(`${url}/console/app.js?v=1`)
    assert.equal(script.status, 200)
    assert.match(script.headers.get('content-type')!, /^text\/javascript/)
    assert.equal((await fetch(`${url}/bots`)).status, 401)
    assert.equal((await fetch(`${url}/bots`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200)
  })

  it('names no file outside its folder, and only reads', async () => {
    // Sent as they are (fetch would resolve the dots first).
    const statusOf = (path: string) =>
      new Promise<number | undefined>((done, fail) => request(url + '/', { path }, (res) => (res.resume(), done(res.statusCode))).on('error', fail).end())
    for (const path of ['/console/', '/console/../console.ts', '/console/..%2Fconsole.ts', '/console/%2e%2e/http.ts', '/console/tsconfig.json', '/console/nope.js', '/console/a/app.js'])
      assert.equal(await statusOf(path), 404, path)
    assert.equal((await fetch(`${url}/`, { method: 'POST', body: '{}' })).status, 405)
  })
})

describe('the web console', () => {
  it('chats, answers a choice, shows a state until the clock passes its expiry, and an event in the timeline', async (t) => {
    const b = needBrowser(t)
    if (!b) return
    // Opened without the token, the console asks for it.
    const page = await newTab(b)
    await page.goto(url + '/')
    await page.locator('#notice').getByText('started with --token').waitFor()
    await page.getByLabel('token').fill(TOKEN)
    await page.getByRole('button', { name: 'Use' }).click()
    await page.locator('#bot option[value="desk"]').waitFor({ state: 'attached' })

    await say(page, 'hello')
    await chat(page).getByText("Hello! I'm the drinks desk.").waitFor()
    await chat(page).getByRole('button', { name: 'Coffee', exact: true }).click()
    await chat(page).getByText('One coffee coming up.').waitFor()

    // The order appears in the inspector with its ten minutes, counting down on the virtual clock.
    const order = page.locator('#inspector [data-state="conversation:order"]')
    await order.getByText('expires in 10:00').waitFor()
    await order.getByText('"drink": "coffee"').waitFor()
    await page.locator('#inspector .tags').getByText('coffee').waitFor()
    await shoot(page, 'console-chat.png')
    await page.getByRole('button', { name: '+1m' }).click()
    await order.getByText('expires in 9:00').waitFor()

    // Past its expiry it leaves the inspector, and the bot's stateExpired reply comes into the chat by itself.
    await page.getByLabel('how far to move the clock').fill('10m')
    await page.getByRole('button', { name: 'Advance' }).click()
    await order.waitFor({ state: 'detached' })
    await chat(page).getByText('Your coffee order expired.').waitFor()
    await page.locator('#timeline .kind-expired').first().waitFor()

    // An event sent from the console: it shows in the timeline, its JSON one click away, and the bot's answer in the chat.
    await page.getByText('Send JSON').click()
    await page.getByLabel('what to send').selectOption('event')
    await page.getByLabel('type', { exact: true }).fill('ping')
    await page.getByLabel('payload as JSON').fill('{ "note": "from the console" }')
    await page.locator('#send-json').getByRole('button', { name: 'Send' }).click()
    const event = page.locator('#timeline .kind-event').getByText('ping processed')
    await event.waitFor()
    await chat(page).getByText('pong: from the console').waitFor()
    await event.click()
    await page.locator('#json-body').getByText('"type": "ping"').waitFor()
    await shoot(page, 'console-event.png')
    await page.getByRole('button', { name: 'Close' }).click()
    await done(page)
  })

  it('renders every standard message type, with working buttons, and shows a bot\'s HTML as text', async (t) => {
    const b = needBrowser(t)
    if (!b) return
    const page = await openConsole(b)
    // The token went to the tab's storage, out of the address bar.
    assert.doesNotMatch(page.url(), /token/)
    await say(page, '/types')
    await chat(page).getByText('A bloc: text and a picture').waitFor()
    await chat(page).locator('.md strong', { hasText: 'Menu' }).waitFor()
    assert.equal(await chat(page).locator('.md em', { hasText: 'espresso' }).count(), 1)
    assert.equal(await chat(page).locator('.type-image figure img[alt="An espresso"]').count(), 1)
    assert.equal(await chat(page).locator('audio[src="https://example.com/grinder.mp3"]').count(), 1)
    assert.equal(await chat(page).locator('video[src="https://example.com/latte-art.mp4"]').count(), 1)
    assert.equal(await chat(page).locator('.file a').textContent(), 'menu.pdf')
    assert.match((await chat(page).locator('.location a').getAttribute('href'))!, /openstreetmap\.org\/\?mlat=48\.8566&mlon=2\.3522/)
    const recipe = chat(page).locator('.card a', { hasText: 'Recipe' })
    assert.equal(await recipe.getAttribute('href'), 'https://example.com/cappuccino')
    assert.equal(await recipe.getAttribute('target'), '_blank')
    assert.equal(await chat(page).locator('.carousel .card').count(), 2)
    if (screenshots) {
      await page.setViewportSize({ width: 1280, height: 1000 })
      await chat(page).locator('.type-file').evaluate((node) => node.scrollIntoView({ block: 'start' }))
      await shoot(page, 'console-types.png')
    }

    // A card's postback and a carousel's say send their value; a dropdown sends the option picked.
    await chat(page).getByRole('button', { name: 'Order one' }).click()
    await chat(page).getByText('One coffee coming up.').waitFor()
    await chat(page).getByRole('button', { name: 'Tea please' }).click()
    await chat(page).getByText('One tea coming up.').waitFor()
    await chat(page).locator('.dropdown select').selectOption('large')
    await chat(page).locator('.dropdown').getByRole('button', { name: 'Send' }).click()
    await chat(page).getByText('You said: large').waitFor()

    // Untrusted output: tags are text, javascript: links are no links, nothing ran.
    await say(page, '/xss')
    await chat(page).getByText('<img src=x onerror="window.__xss=3">').waitFor()
    await chat(page).getByText('<img src=x onerror="window.__xss=1"> and').waitFor()
    assert.equal(await chat(page).locator('code', { hasText: '<img src=x>' }).count(), 1)
    assert.equal(await chat(page).getByText('<b>Open</b>').count(), 1)
    assert.equal(await chat(page).locator('img[src="x"], b').count(), 0)
    assert.equal(await chat(page).locator('a[href^="javascript:"]').count(), 0)
    assert.equal(await page.evaluate(() => (window as { __xss?: unknown }).__xss), undefined)
    await done(page)
  })

  it('saves a transcript and replays its user messages into a new conversation', async (t) => {
    const b = needBrowser(t)
    if (!b) return
    const page = await openConsole(b)
    await say(page, 'hi')
    await chat(page).getByRole('button', { name: 'Tea', exact: true }).click()
    await chat(page).getByText('One tea coming up.').waitFor()
    const first = await page.locator('#conversation').inputValue()

    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Save transcript' }).click()
    const file = await (await download).path()
    const transcript = JSON.parse(await readFile(file, 'utf8'))
    assert.equal(transcript.conversationId, first)
    assert.deepEqual(
      transcript.messages.map((m: { direction: string; type: string }) => `${m.direction} ${m.type}`),
      ['incoming text', 'outgoing text', 'outgoing choice', 'incoming text', 'outgoing text'],
    )

    await page.locator('#load-transcript').setInputFiles(file)
    await page.locator('#notice').getByText('replayed 2 messages').waitFor()
    const second = await page.locator('#conversation').inputValue()
    assert.notEqual(second, first)
    await chat(page).getByText('One tea coming up.').waitFor()
    assert.equal(await chat(page).locator('.message').count(), 5)
    await done(page)
  })
})
