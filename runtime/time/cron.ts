import { validateDetailed } from 'node-cron'

/**
 * How far ahead a search looks. Between 1901 and 2099 the calendar repeats every 28 years, so any day that
 * a day-of-month, month and day-of-week can name together (Feb 29 on a Monday) comes within it.
 */
const HORIZON_MS = 28 * 366 * 24 * 3600 * 1000

type DayTest = (day: CalendarDay) => boolean
type CalendarDay = { year: number; month: number; day: number; weekday: number; lastDay: number }

/**
 * A cron expression in node-cron's syntax (five fields, or six with seconds first; ranges, steps, lists,
 * names, `?`, `L`, `W`, `#`, `@daily`), whose occurrences are computed in the machine's time zone
 * against any clock.
 */
export class Cron {
  /** Sorted values of the time fields. */
  private readonly seconds: number[]
  private readonly minutes: number[]
  private readonly hours: number[]
  /** Months 1..12. */
  private readonly months: Set<number>
  /** As node-cron has it, a day must match the day-of-month field and the day-of-week field both. */
  private readonly dayTests: DayTest[]
  /** Candidates the last `nextAfter` looked at: a jump per field, not a step per second. */
  lastSteps = 0

  constructor(readonly expression: string) {
    const { fields } = validateDetailed(expression)
    if (!fields) throw new Error(`invalid cron expression ${JSON.stringify(expression)}`)
    const sorted = (values: number[]) => [...new Set(values)].sort((a, b) => a - b)
    this.seconds = sorted(fields.second)
    this.minutes = sorted(fields.minute)
    this.hours = sorted(fields.hour)
    this.months = new Set(fields.month)
    this.dayTests = [anyOf(fields.dayOfMonth.map(dayOfMonthTest)), anyOf(fields.dayOfWeek.map(dayOfWeekTest))]
  }

  /** The first occurrence strictly after `after` (ms since the epoch), within 28 years; undefined if none. */
  nextAfter(after: number): number | undefined {
    const limit = after + HORIZON_MS
    this.lastSteps = 0
    for (let at = Math.floor(after / 1000) * 1000 + 1000; at <= limit; this.lastSteps++) {
      const next = this.fromOrAfter(at)
      if (next === at) return at
      at = next
    }
    return undefined
  }

  /** `at` if it is an occurrence; else a later instant with no occurrence before it. */
  private fromOrAfter(at: number): number {
    const date = new Date(at)
    const year = date.getFullYear()
    const month = date.getMonth() + 1
    const day = date.getDate()
    // Local midnights come from the Date constructor, which steps over a gap and takes the first of a repeat.
    if (!this.months.has(month)) return later(at, new Date(year, month, 1).getTime())
    const tomorrow = later(at, new Date(year, month - 1, day + 1).getTime())
    if (!this.matchesDay(year, month, day)) return tomorrow
    const now = date.getHours() * 3600 + date.getMinutes() * 60 + date.getSeconds()
    const next = this.timeOfDayFrom(now)
    // Clocks set back in autumn bring today's earlier hours round again before tomorrow.
    if (next === undefined) return untilOffsetChange(at, tomorrow)
    if (next === now) return at
    // Wall-clock seconds are real seconds until the offset changes; there the search looks again.
    return untilOffsetChange(at, at + (next - now) * 1000)
  }

  private matchesDay(year: number, month: number, day: number): boolean {
    const calendarDay = { year, month, day, weekday: new Date(year, month - 1, day).getDay(), lastDay: new Date(year, month, 0).getDate() }
    return this.dayTests.every((test) => test(calendarDay))
  }

  /** The first time of day (seconds since midnight) at or after `from` that the time fields allow. */
  private timeOfDayFrom(from: number): number | undefined {
    const hour = Math.floor(from / 3600)
    const minute = Math.floor(from / 60) % 60
    const second = from % 60
    for (const h of this.hours) {
      if (h < hour) continue
      if (h > hour) return h * 3600 + this.minutes[0]! * 60 + this.seconds[0]!
      for (const m of this.minutes) {
        if (m < minute) continue
        if (m > minute) return h * 3600 + m * 60 + this.seconds[0]!
        const s = this.seconds.find((s) => s >= second)
        if (s !== undefined) return h * 3600 + m * 60 + s
      }
    }
    return undefined
  }
}

/** `target`, or a second after `at` where a repeated local hour would send the search back. */
function later(at: number, target: number): number {
  return target > at ? target : at + 1000
}

/** `to`, or the first second after `from` whose UTC offset differs from `from`'s, if that comes sooner. */
function untilOffsetChange(from: number, to: number): number {
  const offset = new Date(from).getTimezoneOffset()
  if (new Date(to).getTimezoneOffset() === offset) return to
  let same = from
  let changed = to
  while (changed - same > 1000) {
    const mid = same + Math.floor((changed - same) / 2000) * 1000
    if (new Date(mid).getTimezoneOffset() === offset) same = mid
    else changed = mid
  }
  return changed
}

function anyOf(tests: DayTest[]): DayTest {
  return (day) => tests.some((test) => test(day))
}

/** The weekday (Monday to Friday) nearest `target` within its month, or undefined past the month's end. */
function nearestWeekday({ year, month, lastDay }: CalendarDay, target: number): number | undefined {
  if (target < 1 || target > lastDay) return undefined
  const weekday = new Date(year, month - 1, target).getDay()
  if (weekday === 6) return target === 1 ? 3 : target - 1
  if (weekday === 0) return target === lastDay ? target - 2 : target + 1
  return target
}

/** A day-of-month item as node-cron's `parse` gives it: a day, `L`, `L-n`, `nW` or `LW`. */
function dayOfMonthTest(item: number | string): DayTest {
  if (typeof item === 'number') return ({ day }) => day === item
  if (item === 'L') return ({ day, lastDay }) => day === lastDay
  const beforeLast = /^L-(\d+)$/.exec(item)
  if (beforeLast) return ({ day, lastDay }) => day === lastDay - Number(beforeLast[1])
  const weekday = /^(\d+|L)W$/.exec(item)
  if (weekday) return (d) => d.day === nearestWeekday(d, weekday[1] === 'L' ? d.lastDay : Number(weekday[1]))
  throw new Error(`unknown day of month ${JSON.stringify(item)}`)
}

/** A day-of-week item as node-cron's `parse` gives it: a weekday (0 is Sunday), `nL` (the last) or `n#k` (the k-th). */
function dayOfWeekTest(item: number | string): DayTest {
  if (typeof item === 'number') return ({ weekday }) => weekday === item % 7
  const last = /^(\d)L$/.exec(item)
  if (last) return ({ weekday, day, lastDay }) => weekday === Number(last[1]) % 7 && day + 7 > lastDay
  const nth = /^(\d)#(\d)$/.exec(item)
  if (nth) return ({ weekday, day }) => weekday === Number(nth[1]) % 7 && Math.ceil(day / 7) === Number(nth[2])
  throw new Error(`unknown day of week ${JSON.stringify(item)}`)
}
