import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MethodNotFoundError, ResourceNotFoundError } from '../client/index.ts'

/**
 * The web console: `GET /` is its page, `GET /console/NAME` its scripts and styles, static files read from the
 * console folder beside this module (no build step, nothing from a CDN). The files hold no data, so they are served
 * without the bearer token; every request the page makes for data carries it (see console/api.js).
 */

/** What each kind of console file is served as. */
const contentTypes: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
}

/** A console file's name: one segment, no dots but the extension's, so no request can name a path outside the folder. */
const fileName = /^[a-z0-9-]+\.(html|js|css|svg)$/

/**
 * The page runs only its own scripts and styles and talks only to this server; a bot's images and media may come
 * from anywhere (they are its choice), as `data:` too.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: http: https:",
  "media-src 'self' data: blob: http: https:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * The folder of the console's files: `console/` beside this module when run from source (runtime/faces/), or
 * beside or above the bundle that holds it in the built package (dist/console/, from dist/ or dist/chunks/).
 */
export function consoleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [join(here, 'console'), join(here, '..', 'console')]
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]!
}

/** Whether a request's path is the console's: `/` or `/console/...`. */
export function isConsoleUrl(url: string): boolean {
  const path = url.split('?')[0]!
  return path === '/' || path.startsWith('/console/')
}

/** Answers a console request (see `isConsoleUrl`); errors are thrown, for the face to answer as any other. */
export async function serveConsole(req: IncomingMessage, res: ServerResponse, dir = consoleDir()): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new MethodNotFoundError(`${req.method} not allowed on ${path}`)
  const name = path === '/' ? 'index.html' : path.slice('/console/'.length)
  const notFound = () => new ResourceNotFoundError(`no console file ${path}`)
  if (!fileName.test(name)) throw notFound()
  const content = await readFile(join(dir, name)).catch(() => {
    throw notFound()
  })
  res.writeHead(200, {
    'content-type': contentTypes[name.slice(name.lastIndexOf('.') + 1)]!,
    'content-length': content.length,
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Read from disk at each request: an edit shows at the next reload.
    'cache-control': 'no-cache',
  })
  res.end(req.method === 'HEAD' ? undefined : content)
}
