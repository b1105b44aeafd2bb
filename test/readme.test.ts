import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { errorTypes } from '../runtime/client/errors.ts'
import { commands } from '../runtime/faces/repl.ts'

const readme = readFileSync('README.md', 'utf8')

describe('the README', () => {
  it('lists every error type of the registry, with its code and meaning, and no other', () => {
    const section = readme.slice(readme.indexOf('### Errors'), readme.indexOf('## How it is built'))
    const rows = [...section.matchAll(/^\| `(\w+)` \| (\d+) \| (.+) \|$/gm)].map(([, type, code, when]) => ({ type, code: Number(code), when }))
    assert.deepEqual(
      rows,
      Object.entries(errorTypes).map(([type, { code, description }]) => ({ type, code, when: description })),
    )
  })

  it('documents every REPL command', () => {
    for (const command of commands) assert.ok(readme.includes(`\`.${command.name}`), `.${command.name}`)
  })

  it('shows the two commands', () => {
    assert.ok(readme.includes('npm install && npm start'))
    assert.ok(readme.includes('npm test'))
  })
})
