import type { IncomingMessage } from 'node:http'
import { InvalidPayloadError, PayloadTooLargeError } from '../client/index.ts'

/** The largest request body, in bytes. */
export const MAX_BODY_BYTES = 1024 * 1024

/**
 * Reads a JSON body, refusing more than MAX_BODY_BYTES before reading it whole (a declared length over it
 * is refused before anything is read); an empty body is `{}`. `onWhole` is told once every byte is read.
 */
export async function readJsonBody(req: IncomingMessage, onWhole?: () => void): Promise<unknown> {
  const declared = Number(req.headers['content-length'])
  if (declared > MAX_BODY_BYTES) throw new PayloadTooLargeError(`body of ${declared} bytes, over the limit of ${MAX_BODY_BYTES}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(`body over the limit of ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk)
  }
  onWhole?.()
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new InvalidPayloadError(`body is not JSON: ${(error as Error).message}`)
  }
}
