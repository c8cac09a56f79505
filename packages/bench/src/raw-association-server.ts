import { Packr } from 'msgpackr'
import { WebSocketServer } from 'ws'

/**
 * The raw association baseline's listening process: for each connection the frames of an xcon
 * association (a challenge, bind_ok for the bind, an acknowledgement for the transfer), with no
 * proofs, no store and no state machine: what one association costs the stack itself.
 */
const packr = new Packr({ useRecords: false })
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
wss.on('listening', () => process.stdout.write(`${(wss.address() as { port: number }).port}\n`))
wss.on('connection', ws => {
  ws.send(packr.pack({ type: 'challenge', v: 2, nonce: 'n'.repeat(32) }))
  ws.on('message', (data: Buffer) => {
    const frame = packr.unpack(data) as { type: string, server?: string, seq?: number, messages?: Array<{ envelope: { mtsId: string } }> }
    if (frame.type === 'bind') ws.send(packr.pack({ type: 'bind_ok', v: 2, server: 'SRV-B', proof: 'p'.repeat(64) }))
    else ws.send(packr.pack({ type: 'transfer_ack', seq: frame.seq, results: (frame.messages ?? []).map(m => ({ mtsId: m.envelope.mtsId, outcome: 'accepted' })) }))
  })
})
process.on('SIGTERM', () => process.exit(0))
