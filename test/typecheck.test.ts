import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'

function typecheck(bots: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/typecheck.ts', '--bots', bots], { encoding: 'utf8' })
}

describe('npm run typecheck', () => {
  it('types bp.Bot from the bot definition: declared states are checked, undeclared names take any JSON', () => {
    // The fixture's lines marked as expected errors fail the run unless each is an error.
    const run = typecheck('test/fixtures/typed-bots')
    assert.equal(run.status, 0, run.stderr + run.stdout)
  })

  it('fails on a bot whose state payload breaks its schema, naming the file and the field', () => {
    const run = typecheck('test/fixtures/bad-bots')
    assert.equal(run.status, 1)
    assert.match(run.stderr, /bad-bots\/bad\/index\.ts/)
    assert.match(run.stderr, /Type 'string' is not assignable to type 'number'/)
  })
})
