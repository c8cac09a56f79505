import { Packr } from 'msgpackr'
import { WebSocketServer } from 'ws'

/**
 * The raw baseline's receiving process: a bare ws server that decodes each msgpackr frame and
 * acknowledges it. No validation, no store, no state machine: the limit of the stack itself.
 */
const packr = new Packr({ useRecords: false })
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
wss.on('listening', () => process.stdout.write(`${(wss.address() as { port: number }).port}\n`))
wss.on('connection', ws => {
  ws.on('message', (data: Buffer) => {
    const frame = packr.unpack(data) as { seq: number }
    ws.send(packr.pack({ type: 'transfer_ok', seq: frame.seq }))
  })
})
process.on('SIGTERM', () => process.exit(0))
