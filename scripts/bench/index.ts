/**
 * `npm run bench [-- --quick] [--json] [--only ROW | PREFIX]`: each row runs localbot's path and its raw baseline
 * alternately, reports medians, the ratio and whether the target is met. Rows run one at a time, each in
 * a child process of its own. Exits 1 when a row fails to run (a missed target is a result, not a failure).
 */
import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'
import { formatTable } from './table.ts'
import { rowLimits, rowNames } from './rows/index.ts'
import type { Mode, Result } from './row.ts'

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, only: { type: 'string' } },
})
const mode: Mode = values.quick ? 'quick' : 'full'
// `--only X` runs row X, the row whose results X names (`fsync-off`), or the rows named X-… (`peer`, `peer-sqlite`).
const only = values.only
const names = only === undefined ? [...rowNames] : rowNames.filter((n) => n === only || only.startsWith(n + '-') || n.startsWith(only + '-'))
if (names.length === 0) {
  process.stderr.write(`bench: no row ${JSON.stringify(values.only)}; rows: ${rowNames.join(', ')}\n`)
  process.exit(2)
}
/** The most one row may take before it is stopped: well inside the whole run's budget (some rows say more). */
const rowLimitMs = (name: string) => rowLimits[name as keyof typeof rowLimits]?.[mode] ?? (mode === 'quick' ? 60_000 : 180_000)

/** Runs one row's child; resolves with its results. */
function runRow(name: string): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', new URL('./child.ts', import.meta.url).pathname, name, mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    const limitMs = rowLimitMs(name)
    // SIGTERM first, so that the row stops the servers it started; SIGKILL if it has not exited 15 s later.
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref()
    }, limitMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      const results = out
        .split('\n')
        .filter((line) => line.startsWith('RESULT '))
        .map((line) => JSON.parse(line.slice('RESULT '.length)) as Result)
      if (code === 0 && results.length > 0) resolve(results)
      else reject(new Error(`row ${name} ${timedOut ? `stopped at its time limit of ${limitMs} ms` : signal ? `stopped by ${signal}` : `exited ${code}`}`))
    })
  })
}

const results: Result[] = []
let failed = false
const started = performance.now()
for (const name of names) {
  if (!values.json) process.stderr.write(`bench: ${name}...\n`)
  try {
    for (const r of await runRow(name)) {
      results.push(r)
      if (values.json) {
        const { note: _note, ...fields } = r
        process.stdout.write(JSON.stringify(fields) + '\n')
      }
    }
  } catch (error) {
    failed = true
    process.stderr.write(`bench: ${(error as Error).message}\n`)
  }
}
if (!values.json) {
  process.stdout.write(formatTable(results) + '\n')
  process.stdout.write(`\n${mode} run, ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
}
process.exit(failed ? 1 : 0)
