import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Packr } from 'msgpackr'
import { WebSocket } from 'ws'

/**
 * The same stack without xcon: two bare processes, one ws connection, 1 KiB msgpackr frames
 * shaped like xcon's transfers, each acknowledged, `window` outstanding. Messages per second.
 */
export async function rawThroughput (messages: number, window = 64, size = 1024): Promise<number> {
  const server = spawn(process.execPath, [fileURLToPath(new URL('./raw-server.js', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      server.once('exit', code => reject(new Error(`raw server exited with ${code}`)))
    })
    const packr = new Packr({ useRecords: false })
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    const content = Buffer.alloc(size, 0x61)
    const envelope = { mtsId: '', originator: 'user1@SRV-A', recipients: ['user1@SRV-B'], priority: 'normal', submitTime: Date.now(), subject: 'bench', kind: 'message', trace: [{ server: 'SRV-A', site: 'CORP', arrived: Date.now() }] }
    let sent = 0
    let acked = 0
    const started = process.hrtime.bigint()
    await new Promise<void>((resolve, reject) => {
      const send = (): void => {
        while (sent < messages && sent - acked < window) {
          ws.send(packr.pack({ type: 'transfer', seq: ++sent, envelope: { ...envelope, mtsId: `m${sent}` }, content }))
        }
      }
      ws.on('message', () => {
        if (++acked === messages) resolve()
        else send()
      })
      ws.once('error', reject)
      send()
    })
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    ws.close()
    return messages / seconds
  } finally {
    server.kill('SIGTERM')
  }
}
