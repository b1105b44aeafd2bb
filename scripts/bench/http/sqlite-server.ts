/**
 * The SQLite peer's server for the peer-sqlite-http row: node:http reading localbot's body of
 * `POST /bots/:id/messages`, handling it in one SQLite transaction and answering the same shape of JSON.
 * `node --import tsx sqlite-server.ts DATA_DIR` prints `listening on URL`.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { PeerMessage } from '../peers/messages.ts'
import { sqliteBot } from '../peers/sqlite-bot.ts'

const bot = sqliteBot(join(process.argv[2]!, 'bot.db'), { synchronous: 'NORMAL' })
const server = createServer(async (req, res) => {
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk)
  if (req.method !== 'POST' || !/^\/bots\/[^/]+\/messages$/.test(req.url ?? '')) return void res.writeHead(404).end()
  const text = JSON.stringify(bot.handle(JSON.parse(Buffer.concat(chunks).toString('utf8')) as PeerMessage))
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
})
server.keepAliveTimeout = 5000
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`))
process.on('SIGTERM', () => server.close(() => (bot.close(), process.exit(0))))
