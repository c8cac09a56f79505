import { Packr } from 'msgpackr'
import { WebSocket } from 'ws'
import { startMachineCpu } from './machine-cpu.js'
import { startRawServer } from './raw-server-process.js'

/**
 * The same stack without xcon: two bare processes, one ws connection, msgpackr frames shaped like
 * xcon's transfers, each acknowledged. `batch` 1 is one frame per message with `window` frames
 * outstanding (the per-message baseline); a larger `batch` carries that many messages per frame
 * and acknowledges them in one frame, with `window` messages outstanding (the batched baseline:
 * the same transfers as xcon's, with no store, the ceiling of the stack). Messages per second,
 * and the machine's CPU per message while they flowed (the server's start-up is not in it).
 */
export async function rawThroughput (messages: number, opts: { window: number, batch: number }, size = 1024): Promise<{ rate: number, cpuMicrosPerMessage: number | null }> {
  const { server, port } = await startRawServer('raw-server.js')
  try {
    const packr = new Packr({ useRecords: false })
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    const content = Buffer.alloc(size, 0x61)
    const envelope = { mtsId: '', originator: 'user1@SRV-A', recipients: ['user1@SRV-B'], priority: 'normal', submitTime: Date.now(), subject: 'bench', kind: 'message', trace: [{ server: 'SRV-A', site: 'CORP', arrived: Date.now() }] }
    const outstanding = Math.max(opts.batch, opts.window)
    let sent = 0
    let acked = 0
    let seq = 0
    const cpu = startMachineCpu()
    const started = process.hrtime.bigint()
    await new Promise<void>((resolve, reject) => {
      const send = (): void => {
        while (sent < messages && sent - acked < outstanding) {
          const n = Math.min(opts.batch, messages - sent, outstanding - (sent - acked))
          const batch = Array.from({ length: n }, (_, i) => ({ envelope: { ...envelope, mtsId: `m${sent + i}` }, content }))
          ws.send(packr.pack({ type: 'transfer', seq: ++seq, messages: batch }))
          sent += n
        }
      }
      ws.on('message', (data: Buffer) => {
        acked += (packr.unpack(data) as { results: unknown[] }).results.length
        if (acked >= messages) resolve()
        else send()
      })
      ws.once('error', reject)
      send()
    })
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const cpuMicrosPerMessage = cpu.perMessage(messages)
    ws.close()
    return { rate: messages / seconds, cpuMicrosPerMessage }
  } finally {
    server.kill('SIGTERM')
  }
}
