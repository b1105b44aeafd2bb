import { spawn } from 'node:child_process'

/** Runs `npm start`'s entry as a scripted REPL (`--repl --no-http --no-watch` and `args`) fed `lines`; resolves with its output and exit code. */
export function script(lines: string[], args: string[] = []): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/main.ts', '--repl', '--no-http', '--no-watch', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('exit', (code) => resolve({ stdout, stderr, code }))
    child.stdin.end(lines.map((l) => l + '\n').join(''))
  })
}
