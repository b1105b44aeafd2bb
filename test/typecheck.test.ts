import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { before, describe, it } from 'node:test'

function typecheck(...botsDirs: string[]) {
  const args = botsDirs.flatMap((dir) => ['--bots', dir])
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/typecheck.ts', ...args], { encoding: 'utf8' })
}

/** The lines of a run's output that point into a folder: its errors (and failed definitions) there. */
function errorsIn(run: { stdout: string; stderr: string }, folder: string): string[] {
  // eslint-disable-next-line no-control-regex
  const plain = (run.stderr + run.stdout).replace(/\x1b\[[0-9;]*m/g, '')
  return plain.split('\n').filter((line) => line.startsWith(folder))
}

/** Every fixture bots folder whose bots must type-check against Botpress's SDK: all but bad-bots. */
const fixtureFolders = readdirSync('test/fixtures')
  .filter((name) => name.endsWith('-bots') && name !== 'bad-bots')
  .map((name) => `test/fixtures/${name}`)

describe('npm run typecheck', () => {
  // One run over every fixture folder: each run type-checks the whole project too, which takes a while.
  let run: ReturnType<typeof typecheck>
  before(() => {
    run = typecheck(...fixtureFolders)
  })

  it('types bp.Bot from the bot definition as bp gen does: declared states and events are checked, undeclared state names take any JSON', () => {
    // The fixture's lines marked as expected errors fail the run unless each is an error.
    assert.match(run.stdout, /bots .*test\/fixtures\/typed-bots\/typed\b/)
    assert.deepEqual(errorsIn(run, 'test/fixtures/typed-bots/'), [])
  })

  it("type-checks every fixture bot against Botpress's own SDK", () => {
    assert.deepEqual(errorsIn(run, 'test/fixtures/'), [])
  })

  it("reports, without failing on, the errors owed to a simulated package's any-typed outputs", () => {
    const owed = errorsIn({ stdout: run.stdout.replace(/^ {2}/gm, ''), stderr: '' }, 'test/fixtures/project-bots/project/src/index.ts')
    assert.match(run.stdout, /2 error\(s\) left unchecked, owed to the any-typed outputs of simulated packages \(chat\)/)
    assert.deepEqual(owed.map((line) => line.match(/ (TS\d+):/)?.[1]), ['TS7006', 'TS2322'])
  })

  it('fails on a bot whose state payload breaks its schema, naming the file and the field', () => {
    const bad = typecheck('test/fixtures/bad-bots')
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /bad-bots\/bad\/index\.ts/)
    assert.match(bad.stderr, /Type 'string' is not assignable to type 'number'/)
    // A bot with simulated packages still fails on its own code's errors.
    assert.match(bad.stderr, /bad-bots\/simulated\/index\.ts.*TS7006: .*Parameter 'text' implicitly has an 'any' type/)
  })
})
