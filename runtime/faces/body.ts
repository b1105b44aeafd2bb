import type { IncomingMessage } from 'node:http'
import { InvalidPayloadError, PayloadTooLargeError } from '../client/index.ts'

/** The largest request body, in bytes. */
export const MAX_BODY_BYTES = 1024 * 1024

/**
 * Reads a body of at most `limit` bytes, refusing more before reading it whole (a declared length over it is
 * refused before anything is read). `onWhole` is told once every byte is read.
 */
export async function readBody(req: IncomingMessage, limit: number, onWhole?: () => void): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (declared > limit) throw new PayloadTooLargeError(`body of ${declared} bytes, over the limit of ${limit}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw new PayloadTooLargeError(`body over the limit of ${limit} bytes`)
    chunks.push(chunk)
  }
  onWhole?.()
  return Buffer.concat(chunks)
}

/** Reads a JSON body of at most MAX_BODY_BYTES (see `readBody`); an empty body is `{}`. */
export async function readJsonBody(req: IncomingMessage, onWhole?: () => void): Promise<unknown> {
  const text = (await readBody(req, MAX_BODY_BYTES, onWhole)).toString('utf8')
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new InvalidPayloadError(`body is not JSON: ${(error as Error).message}`)
  }
}
