import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { clockedDate, loadModule } from '../runtime/bots/compile.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

const HOUR = 3600 * 1000

describe("bot code's Date", () => {
  it('Date() without new is the virtual time as a string, as the real Date() is the real time', () => {
    const clock = new VirtualClock(Date.UTC(2030, 5, 1, 12))
    const BotDate = clockedDate(clock)
    assert.equal(BotDate(), new Date(clock.now()).toString())
    assert.equal((BotDate as unknown as (...args: unknown[]) => string)(2001, 1), new Date(clock.now()).toString(), 'arguments ignored')
    clock.advance(HOUR)
    assert.equal(BotDate(), new Date(Date.UTC(2030, 5, 1, 13)).toString())
  })

  it('new Date(), Date.now(), parse, UTC, dates from values and instanceof all keep working', () => {
    const clock = new VirtualClock(Date.UTC(2030, 5, 1, 12))
    const BotDate = clockedDate(clock)
    assert.equal(new BotDate().getTime(), clock.now())
    assert.equal(BotDate.now(), clock.now())
    assert.equal(new BotDate(0).toISOString(), '1970-01-01T00:00:00.000Z')
    assert.equal(new BotDate(2020, 1, 29).getTime(), new Date(2020, 1, 29).getTime())
    assert.equal(new BotDate('2020-02-29T10:00:00Z').getTime(), Date.UTC(2020, 1, 29, 10))
    assert.ok(Number.isNaN(new BotDate(undefined as unknown as number).getTime()), 'new Date(undefined) is an invalid date, as the real one')
    assert.equal(BotDate.parse('2020-02-29T10:00:00Z'), Date.UTC(2020, 1, 29, 10))
    assert.equal(BotDate.UTC(2020, 1, 29), Date.UTC(2020, 1, 29))
    assert.ok(new BotDate() instanceof BotDate)
    assert.ok(new BotDate() instanceof Date)
    assert.ok(new Date() instanceof BotDate, 'a date from outside the bot is a Date to the bot')

    class Deadline extends BotDate {}
    const deadline = new Deadline()
    assert.ok(deadline instanceof Deadline && deadline instanceof BotDate)
    assert.equal(deadline.getTime(), clock.now())
  })

  it('a bot file calling Date() gets the runtime clock through its compiled module', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'localbot-date-'))
    try {
      const file = join(dir, 'index.ts')
      await writeFile(file, 'export const text = Date()\nexport const at = new Date().getTime()\nexport const now = Date.now()\n')
      const clock = new VirtualClock(Date.UTC(2030, 5, 1, 12))
      const loaded = await loadModule(file, { botDir: dir, clock })
      assert.deepEqual(loaded, { text: new Date(clock.now()).toString(), at: clock.now(), now: clock.now() })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
