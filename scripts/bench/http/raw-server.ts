/**
 * The bare baseline of the http row: a node:http server that reads the JSON body and does the dispatch
 * row's raw work (one get, one batch), answering with the same shape of JSON localbot answers.
 * `node --import tsx raw-server.ts DATA_DIR` prints `listening on URL` (loopback, a free port).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { openRaw, rawHandle } from '../raw.ts'

const db = await openRaw(process.argv[2]!)
const server = createServer(async (req, res) => {
  const botId = /^\/bots\/([^/]+)\/messages$/.exec(req.url ?? '')?.[1]
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk)
  if (req.method !== 'POST' || botId === undefined) return void res.writeHead(404).end()
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { userId: string; conversationId: string; text: string }
  const text = JSON.stringify(await rawHandle(db, botId, input))
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
})
server.keepAliveTimeout = 5000
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`))
process.on('SIGTERM', () => server.close(() => void db.close().then(() => process.exit(0))))
