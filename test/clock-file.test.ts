import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { addPackages } from './support/packages.ts'
import { script } from './support/script.ts'
import { CLOCK_FILE, ClockMismatchError, claimClock, writeClockRecord } from '../runtime/time/clock-file.ts'

describe("a data folder's clock", () => {
  it('the virtual clock goes on from the saved time, never back; the folder refuses the other clock, saying what to do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'localbot-clock-'))
    try {
      assert.deepEqual(await claimClock(dir, true, Date.UTC(2026, 0, 1)), { start: Date.UTC(2026, 0, 1) })
      await writeClockRecord(dir, { clock: 'virtual', now: '2026-03-01T00:00:00.000Z' })
      // The machine's time is earlier than the saved one: the saved one wins.
      assert.deepEqual(await claimClock(dir, true, Date.UTC(2025, 0, 1)), { start: Date.UTC(2026, 2, 1) })
      await assert.rejects(claimClock(dir, false, Date.now()), (error: Error) => error instanceof ClockMismatchError && /written under the virtual clock \(its time is 2026-03-01T00:00:00.000Z\): run with --virtual-clock/.test(error.message))
      const real = await mkdtemp(join(tmpdir(), 'localbot-clock-'))
      await claimClock(real, false, Date.now())
      assert.deepEqual(JSON.parse(await readFile(join(real, CLOCK_FILE), 'utf8')), { clock: 'real' })
      await assert.rejects(claimClock(real, true, Date.now()), /written under the real clock: .*give another --data/)
      await rm(real, { recursive: true, force: true })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('across a restart of npm start: the time moved with .clock is where the next run starts; the real clock is refused there', async () => {
    const data = await mkdtemp(join(tmpdir(), 'localbot-clock-run-'))
    try {
      const first = await script(['.clock +3d'], ['--virtual-clock', '--data', data, '--bot', 'echo'])
      assert.equal(first.code, 0, first.stderr)
      const moved = /clock (\S+)/.exec(first.stdout)![1]!
      const second = await script(['.clock'], ['--virtual-clock', '--data', data, '--bot', 'echo'])
      assert.equal(second.code, 0, second.stderr)
      assert.equal(/clock (\S+)/.exec(second.stdout)![1], moved)
      const real = await script(['hi'], ['--data', data, '--bot', 'echo'])
      assert.equal(real.code, 1)
      assert.match(real.stderr, /written under the virtual clock .*run with --virtual-clock to go on with it, or give another --data/)
    } finally {
      await rm(data, { recursive: true, force: true })
    }
  })
})

describe('a scripted REPL run', () => {
  it('exits 1 when a line failed; --strict-actions makes an action without a mock fail', async () => {
    addPackages('test/fixtures/action-bots/shop', ['inventory'])
    const data = await mkdtemp(join(tmpdir(), 'localbot-strict-'))
    try {
      const ok = await script(['stock apple', 'reserve pear'], ['--bots', 'test/fixtures/action-bots', '--data', data, '--bot', 'shop'])
      assert.equal(ok.code, 0, ok.stderr)
      assert.match(ok.stdout, /shop> reservation '' held/)
      const strict = await script(['stock apple', 'reserve pear'], ['--bots', 'test/fixtures/action-bots', '--data', data, '--bot', 'shop', '--strict-actions'])
      assert.equal(strict.code, 1)
      assert.match(strict.stdout, /shop> 7 in stock/)
      assert.match(strict.stdout, /error: the bot's handler failed: action inventory:reserve has no mock \(--strict-actions\)/)
    } finally {
      await rm(data, { recursive: true, force: true })
    }
  })
})
