/** Starting and stopping server processes (localbot's `npm start`, the bare baseline) and looking at them. */
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/** Servers started and not yet stopped: a row stopped at its time limit stops them before it exits (child.ts). */
const running = new Set<() => Promise<void>>()

/** Stops every server still running. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((stop) => stop()))
}

/** A server process in a process group of its own (so that npm, tsx and node all stop together). */
export type Server = { child: ChildProcess; url: string; readyMs: number; stop(): Promise<void> }

/**
 * Spawns `command args` in `cwd` and resolves once it prints `listening on URL`, with the time that took.
 * Rejects if it exits first or takes more than `limitMs`.
 */
export function startServer(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; limitMs?: number }): Promise<Server> {
  const started = performance.now()
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'ignore'], detached: true })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    running.delete(stop)
    if (child.exitCode !== null || child.signalCode !== null) return
    signalGroup(child.pid!, 'SIGTERM')
    // Wait for the whole group (npm, tsx and node), so that the data folder's lock is free again.
    const deadline = performance.now() + 10_000
    while (groupAlive(child.pid!) && performance.now() < deadline) await sleep(20)
    if (groupAlive(child.pid!)) signalGroup(child.pid!, 'SIGKILL')
    await exited
  }
  running.add(stop)
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`${command} ${args.join(' ')}: no "listening on" after ${options.limitMs ?? 30_000} ms`))
    }, options.limitMs ?? 30_000)
    child.stdout!.on('data', (chunk) => {
      out += chunk
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (!match) return
      const readyMs = performance.now() - started
      clearTimeout(timer)
      out = ''
      child.stdout!.removeAllListeners('data')
      child.stdout!.resume()
      resolve({ child, url: match[1]!, readyMs, stop })
    })
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`${command} ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before listening: ${out}`))
    })
  })
}

function signalGroup(pgid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pgid, signal)
  } catch {
    // gone already
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

/** The processes of a process group: pid, parent pid, command line and resident memory (bytes). */
export function groupProcesses(pgid: number): { pid: number; ppid: number; cmdline: string; rss: number }[] {
  const found: { pid: number; ppid: number; cmdline: string; rss: number }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // Fields after the command name (which may hold spaces): state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[2]) !== pgid) continue
      const status = readFileSync(`/proc/${entry}/status`, 'utf8')
      const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0)
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim()
      found.push({ pid: Number(entry), ppid: Number(fields[1]), cmdline, rss: rssKb * 1024 })
    } catch {
      // exited meanwhile
    }
  }
  return found
}
