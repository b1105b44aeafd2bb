import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { createTask, validate } from 'node-cron'
import { Cron } from '../runtime/time/cron.ts'

// Cron reads the machine's time zone. New York's clocks skip an hour in March and repeat one in November,
// which the tests below walk across. Each test file runs in a process of its own.
process.env.TZ = 'America/New_York'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 3600 * SECOND
const DAY = 24 * HOUR

/** A local wall-clock time in New York, as ms since the epoch. */
const local = (year: number, month: number, day: number, hour = 0, minute = 0, second = 0) =>
  new Date(year, month - 1, day, hour, minute, second).getTime()

const next = (expression: string, after: number) => new Cron(expression).nextAfter(after)

describe('cron schedules', () => {
  it('a yearly schedule fires on the next first of January at local midnight, found in a handful of jumps', () => {
    const cron = new Cron('0 0 1 1 *')
    assert.equal(cron.nextAfter(local(2026, 3, 10, 12)), local(2027, 1, 1))
    assert.ok(cron.lastSteps < 100, `${cron.lastSteps} steps`)
    assert.equal(next('@yearly', local(2027, 1, 1)), local(2028, 1, 1), 'strictly after: not the instant itself')
  })

  it('Feb 29 is found from a year with none, and a Feb 29 that must fall on a Monday 18 years on', () => {
    assert.equal(next('0 0 29 2 *', local(2026, 3, 1)), local(2028, 2, 29))
    assert.equal(next('0 0 29 2 *', local(2028, 2, 29)), local(2032, 2, 29))
    const monday = new Cron('0 0 29 2 1')
    assert.equal(monday.nextAfter(local(2026, 1, 1)), local(2044, 2, 29))
    assert.ok(monday.lastSteps < 2000, `${monday.lastSteps} steps`)
  })

  it('six fields count seconds: every second is the next whole second, and a yearly one takes a few jumps', () => {
    assert.equal(next('* * * * * *', local(2026, 5, 5, 10, 0, 0) + 400), local(2026, 5, 5, 10, 0, 1))
    assert.equal(next('* * * * * *', local(2026, 5, 5, 10, 0, 1)), local(2026, 5, 5, 10, 0, 2))
    assert.equal(next('*/20 * * * * *', local(2026, 5, 5, 10, 0, 41)), local(2026, 5, 5, 10, 1, 0))
    const yearly = new Cron('30 15 10 4 7 *')
    assert.equal(yearly.nextAfter(local(2026, 7, 4, 10, 15, 30)), local(2027, 7, 4, 10, 15, 30))
    assert.ok(yearly.lastSteps < 100, `${yearly.lastSteps} steps`)
    const lastSecondOfYear = new Cron('59 59 23 31 12 *')
    assert.equal(lastSecondOfYear.nextAfter(local(2026, 1, 1)), local(2026, 12, 31, 23, 59, 59))
    assert.ok(lastSecondOfYear.lastSteps < 100, `${lastSecondOfYear.lastSteps} steps`)
  })

  it('a day must match the day of month and the day of week both, as in node-cron: Friday the 13th', () => {
    assert.equal(next('0 12 13 * 5', local(2026, 1, 1)), local(2026, 2, 13, 12))
    assert.equal(next('0 12 13 * fri', local(2026, 2, 13, 12)), local(2026, 3, 13, 12))
  })

  it("node-cron's day tokens: the last day, days before it, the nearest weekday, the last and the n-th weekday", () => {
    assert.equal(next('0 0 L * *', local(2028, 2, 1)), local(2028, 2, 29))
    assert.equal(next('0 0 L-2 * *', local(2026, 2, 1)), local(2026, 2, 26))
    assert.equal(next('0 0 15W * *', local(2026, 8, 1)), local(2026, 8, 14), 'Aug 15 2026 is a Saturday')
    assert.equal(next('0 0 1W * *', local(2026, 8, 1)), local(2026, 8, 3), 'Aug 1 2026 is a Saturday: Monday, in the month')
    assert.equal(next('0 0 LW * *', local(2026, 1, 1)), local(2026, 1, 30), 'Jan 31 2026 is a Saturday')
    assert.equal(next('0 0 LW * *', local(2026, 5, 1)), local(2026, 5, 29), 'May 31 2026 is a Sunday')
    assert.equal(next('0 0 * * 5L', local(2026, 1, 1)), local(2026, 1, 30))
    assert.equal(next('0 0 * * 5L', local(2026, 7, 1)), local(2026, 7, 31), 'a Friday on the 31st: not the 24th')
    assert.equal(next('0 9 * * 1#2', local(2026, 1, 1)), local(2026, 1, 12, 9))
    assert.equal(next('0 0 ? * 7', local(2026, 1, 1)), local(2026, 1, 4), '7 is Sunday, and so is 0')
  })

  it('steps, ranges, lists and names', () => {
    assert.equal(next('*/15 9-17 * * mon-fri', local(2026, 1, 2, 17, 46)), local(2026, 1, 5, 9), 'Friday evening to Monday morning')
    assert.equal(next('0 22-2/2 * * *', local(2026, 1, 1, 22, 30)), local(2026, 1, 2, 0), 'a range that wraps midnight')
    assert.equal(next('5,35 */6 * jan,jul *', local(2026, 1, 31, 18, 36)), local(2026, 7, 1, 0, 5))
    assert.equal(next('0 0 1-7/3 * *', local(2026, 3, 4)), local(2026, 3, 7))
  })

  it('a time the clocks skip in spring does not fire that day; one they repeat in autumn fires on both passes', () => {
    assert.equal(next('30 2 * * *', local(2026, 3, 7, 12)), local(2026, 3, 9, 2, 30))
    const firstPass = Date.UTC(2026, 10, 1, 5, 30)
    assert.equal(next('30 1 * * *', local(2026, 10, 31, 12)), firstPass)
    assert.equal(next('30 1 * * *', firstPass), firstPass + 3600 * SECOND)
  })

  it('an expression node-cron refuses is refused', () => {
    for (const bad of ['* * * *', '60 * * * *', '0 0 30 2 *', '* * * * 1#6', 'every day'])
      assert.throws(() => new Cron(bad), /invalid cron expression/, bad)
  })
})

/** A cron field of values between `min` and `max` (or `names`): a star, or a list of values, ranges and steps. */
function field(min: number, max: number, extras: fc.Arbitrary<string>[] = []) {
  const value = fc.integer({ min, max }).map(String)
  const item = fc.oneof(
    value,
    fc.tuple(value, value).map(([a, b]) => `${a}-${b}`),
    fc.tuple(value, value, fc.integer({ min: 1, max: max - min })).map(([a, b, step]) => `${a}-${b}/${step}`),
    fc.integer({ min: 1, max: max - min }).map((step) => `*/${step}`),
    ...extras,
  )
  return fc.oneof(fc.constant('*'), fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => items.join(',')))
}

const dayOfMonth = fc.oneof(
  field(1, 31, [
    fc.constant('L'),
    fc.constant('LW'),
    fc.integer({ min: 1, max: 30 }).map((n) => `L-${n}`),
    fc.integer({ min: 1, max: 31 }).map((n) => `${n}W`),
  ]),
  fc.constant('?'),
)
const month = field(1, 12, [fc.constantFrom('jan', 'feb', 'jun-aug', 'dec')])
const dayOfWeek = fc.oneof(
  field(0, 7, [
    fc.constantFrom('mon-fri', 'sat,sun'),
    fc.integer({ min: 0, max: 7 }).map((n) => `${n}L`),
    fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 5 })).map(([n, k]) => `${n}#${k}`),
  ]),
  fc.constant('?'),
)
const dayFields = fc.tuple(dayOfMonth, month, dayOfWeek)

/** Instants in 2024..2031, half of them at most `near` ms from a change of New York's clocks. */
const clockChanges = [Date.UTC(2026, 2, 8, 7), Date.UTC(2026, 10, 1, 6), Date.UTC(2028, 2, 12, 7), Date.UTC(2028, 10, 5, 6)]
const instant = (near: number) =>
  fc.oneof(
    fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2031, 0, 1) }),
    fc.tuple(fc.constantFrom(...clockChanges), fc.integer({ min: -near, max: near })).map(([at, offset]) => at + offset),
  )

/**
 * node-cron's own `match`, stepping `unit` by `unit` through `span`: the first instant after `after` that
 * it accepts. Its match is each field's match taken together, so each time field and the day fields are
 * asked apart, and remembered; the answers are still all node-cron's.
 */
function bruteForce(fields: string[], after: number, span: number, unit: number): number | undefined {
  const [second, minute, hour, dom, mon, dow] = fields
  const asked = (expression: string) => {
    const task = createTask(expression, () => undefined)
    const answers = new Map<number, boolean>()
    return (key: number, date: Date) => answers.get(key) ?? answers.set(key, task.match(date)).get(key)!
  }
  const seconds = asked(`${second} * * * * *`)
  const minutes = asked(`* ${minute} * * * *`)
  const hours = asked(`* * ${hour} * * *`)
  const days = asked(`* * * ${dom} ${mon} ${dow}`)
  for (let at = Math.floor(after / unit) * unit + unit; at <= after + span; at += unit) {
    const date = new Date(at)
    const wallClock = at - date.getTimezoneOffset() * MINUTE
    const of = (size: number, count: number) => Math.floor(wallClock / size) % count
    if (seconds(of(SECOND, 60), date) && minutes(of(MINUTE, 60), date) && hours(of(HOUR, 24), date) && days(Math.floor(wallClock / DAY), date))
      return at
  }
  return undefined
}

function agreesWithBruteForce(fields: string[], after: number, span: number, unit: number): void {
  const expression = fields.slice(unit === MINUTE ? 1 : 0).join(' ')
  const expected = bruteForce(fields, after, span, unit)
  const actual = new Cron(expression).nextAfter(after)
  const show = (at: number | undefined) => (at === undefined ? 'none' : new Date(at).toString())
  const message = `${expression} after ${new Date(after).toString()}: ${show(actual)}, node-cron ${show(expected)}`
  if (expected !== undefined) assert.equal(actual, expected, message)
  else assert.ok(actual === undefined || actual > after + span, message)
}

describe('cron schedules against node-cron, step by step', () => {
  it('five-field expressions agree over 40 days', () => {
    const expressions = fc
      .tuple(field(0, 59), field(0, 23), dayFields)
      .map(([minute, hour, days]) => ['0', minute, hour, ...days])
      .filter((fields) => validate(fields.slice(1).join(' ')))
    fc.assert(
      fc.property(expressions, instant(2 * DAY), (fields, after) => agreesWithBruteForce(fields, after, 40 * DAY, MINUTE)),
      { numRuns: 100 },
    )
  })

  it('six-field expressions agree over two hours', () => {
    const expressions = fc
      .tuple(field(0, 59), field(0, 59), field(0, 23), dayFields)
      .map(([second, minute, hour, days]) => [second, minute, hour, ...days])
      .filter((fields) => validate(fields.join(' ')))
    fc.assert(
      fc.property(expressions, instant(3 * HOUR), (fields, after) => agreesWithBruteForce(fields, after, 2 * HOUR, SECOND)),
      { numRuns: 100 },
    )
  })
})
