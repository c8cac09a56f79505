import { Packr } from 'msgpackr'
import { WebSocketServer } from 'ws'

/**
 * The raw baselines' receiving process: a bare ws server that decodes each msgpackr frame and
 * acknowledges it with one outcome per message. No validation, no store, no state machine: the
 * limit of the stack itself.
 */
const packr = new Packr({ useRecords: false })
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
wss.on('listening', () => process.stdout.write(`${(wss.address() as { port: number }).port}\n`))
wss.on('connection', ws => {
  ws.on('message', (data: Buffer) => {
    const frame = packr.unpack(data) as { seq: number, messages: Array<{ envelope: { mtsId: string } }> }
    ws.send(packr.pack({ type: 'transfer_ack', seq: frame.seq, results: frame.messages.map(m => ({ mtsId: m.envelope.mtsId, outcome: 'accepted' })) }))
  })
})
process.on('SIGTERM', () => process.exit(0))
