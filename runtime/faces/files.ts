import type { IncomingMessage, ServerResponse } from 'node:http'
import { createClientContext, fileContent, MethodNotFoundError, putFileContent, ResourceNotFoundError, type ClientContext } from '../client/index.ts'
import { MAX_FILE_BYTES } from '../client/files.ts'
import type { Runtime } from '../runtime.ts'
import { readBody } from './body.ts'

/**
 * File content over HTTP: `GET /files/BOT/ID?t=TOKEN` answers a file's bytes (its `url`), `PUT /files/BOT/ID?upload=TOKEN`
 * stores them (its `uploadUrl`, where @botpress/client's uploadFile sends the content after upsertFile). The token is
 * the credential, as a pre-signed URL's signature is: these requests need no bearer token, and a wrong token, an
 * unknown bot or file, all answer the same 404. The path is two ids, decoded segment by segment and looked up as
 * store keys, never a path on disk.
 */

/** What serves file content: the client context of a running bot (undefined for any other id). */
export type FilesHost = { contextFor(botId: string): ClientContext | undefined }

/** Whether a request target is a file URL (then `serveFile` answers it, bearer token or not). */
export function isFileUrl(url: string): boolean {
  return url.startsWith('/files/')
}

/** The file host of a runtime: a context per request over the runtime's store, clock and file links. */
export function runtimeFiles(runtime: Runtime): FilesHost {
  return {
    contextFor: (botId) =>
      runtime.dispatcher.has(botId) ? createClientContext({ store: runtime.store, botId, clock: runtime.clock, files: runtime.dispatcher.fileLinks }) : undefined,
  }
}

/** The bot and file a path names, or undefined. */
function target(path: string): { botId: string; id: string } | undefined {
  const parts = path.split('/')
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== 'files') return undefined
  try {
    const [botId, id] = [decodeURIComponent(parts[2]!), decodeURIComponent(parts[3]!)]
    return botId && id ? { botId, id } : undefined
  } catch {
    return undefined
  }
}

/**
 * Answers a request of a file URL (see `isFileUrl`); errors are thrown, for the face to answer as any other.
 * The content is served as an attachment would be, never run: `nosniff`, and a sandbox for HTML.
 */
export async function serveFile(host: FilesHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/'
  const mark = url.indexOf('?')
  const found = target(mark === -1 ? url : url.slice(0, mark))
  const query = new URLSearchParams(mark === -1 ? '' : url.slice(mark + 1))
  const ctx = found && host.contextFor(found.botId)
  const notFound = () => new ResourceNotFoundError(`no file at ${url.split('?')[0]}`)
  if (req.method === 'GET' || req.method === 'HEAD') {
    const token = query.get('t')
    if (!found || !ctx || token === null) throw notFound()
    const { file, content } = await fileContent(ctx, found.id, token)
    res.writeHead(200, {
      'content-type': file.contentType,
      'content-length': content.length,
      'x-content-type-options': 'nosniff',
      'content-security-policy': 'sandbox',
      'cache-control': 'private, no-cache',
    })
    return void res.end(req.method === 'HEAD' ? undefined : content)
  }
  if (req.method === 'PUT') {
    const token = query.get('upload')
    // A wrong URL is refused before a byte of the body is read.
    if (!found || !ctx || token === null) throw notFound()
    await putFileContent(ctx, found.id, token, () => readBody(req, MAX_FILE_BYTES))
    return void res.writeHead(200, { 'content-length': 0 }).end()
  }
  throw new MethodNotFoundError(`${req.method} not allowed on a file URL`)
}
