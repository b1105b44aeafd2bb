import { createTask, validate, type ScheduledTask } from 'node-cron'

/** A cron expression, parsed by node-cron, whose occurrences are computed against any clock. */
export class Cron {
  private readonly task: ScheduledTask
  /** Six fields means a seconds field; five step by minutes. */
  private readonly stepMs: number

  constructor(readonly expression: string) {
    if (!validate(expression)) throw new Error(`invalid cron expression ${JSON.stringify(expression)}`)
    // Created, never started: node-cron's own timers follow the real clock; ours follow the runtime's.
    this.task = createTask(expression, () => undefined)
    this.stepMs = expression.trim().split(/\s+/).length === 6 ? 1000 : 60_000
  }

  /** The first occurrence strictly after `after` ms, within a year and a day; undefined if none. */
  nextAfter(after: number): number | undefined {
    const limit = after + 366 * 24 * 3600 * 1000
    for (let at = Math.floor(after / this.stepMs) * this.stepMs + this.stepMs; at <= limit; at += this.stepMs)
      if (this.task.match(new Date(at))) return at
    return undefined
  }
}
