import { Packr } from 'msgpackr'
import { WebSocket } from 'ws'
import { BenchSite, until } from './bench-site.js'
import { cpuUsedSeconds } from './process-cpu.js'
import { startRawServer } from './raw-server-process.js'

export interface AssociationCost {
  associations: number
  /** CPU per association over what the process uses idle: xcon's sender, with the message's HTTP submission. */
  senderMs: number
  /** xcon's receiver, with one or two polls of its deliveries. */
  receiverMs: number
  /** The same frames over bare ws, one process each side, no store: the stack's own cost. */
  rawClientMs: number
  rawServerMs: number
}

const WARM_UP = 30
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/**
 * What one association costs when each message has its own, once the code is warm: two MTAs,
 * one message at a time, each sent after the last one's association was released. The mesh of
 * the scale bench is thousands of these; this says how much of a probe is xcon and how much the
 * stack under it.
 */
export async function associationCost (associations = 200): Promise<AssociationCost> {
  const xcon = await xconAssociations(associations)
  const raw = await rawAssociations(associations)
  return { associations, ...xcon, ...raw }
}

async function xconAssociations (n: number): Promise<{ senderMs: number, receiverMs: number }> {
  // timeScale 6000 makes the 120 s disconnect time 20 ms: each message below waits longer than
  // that, so it opens an association of its own, as every mesh probe does.
  const b = await BenchSite.start('sites:\n  CORP: { secret: bench, servers: [SRV-A, SRV-B] }\ndefaults: { build: 2653, timeScale: 6000, controlBlocks: 20, traffic: off }\n')
  try {
    const pids = [b.pid('SRV-A'), b.pid('SRV-B')]
    let after = 0
    const one = async (): Promise<void> => {
      await b.site.submit('SRV-A', { to: ['user1@SRV-B'], subject: 'association' })
      await sleep(40)
      await until('the association bench\'s message delivered', async () => {
        const page = await b.deliveries('SRV-B', after)
        if (page.length > 0) after = page.at(-1)!.seq
        return page.length > 0
      }, 5000, 20)
      await sleep(30)
    }
    for (let i = 0; i < WARM_UP; i++) await one()
    const idle0 = pids.map(cpuUsedSeconds)
    await sleep(3000)
    const idlePerMs = pids.map((pid, i) => (cpuUsedSeconds(pid) - idle0[i]!) / 3000)
    const opened0 = await outboundAssociations(b)
    const cpu0 = pids.map(cpuUsedSeconds)
    const t0 = Date.now()
    for (let i = 0; i < n; i++) await one()
    const ms = Date.now() - t0
    const opened = await outboundAssociations(b) - opened0
    // The last association may still be closing; any fewer and messages shared one.
    if (opened < n - 1) throw new Error(`${n} messages went over ${opened} associations, not one each`)
    const [sender, receiver] = pids.map((pid, i) => 1000 * (cpuUsedSeconds(pid) - cpu0[i]! - idlePerMs[i]! * ms) / n)
    return { senderMs: sender!, receiverMs: receiver! }
  } finally {
    await b.close()
  }
}

/** Outbound associations SRV-A has ended so far, from its /metrics. */
async function outboundAssociations (b: BenchSite): Promise<number> {
  const text = await (await fetch(b.site.metricsUrl('SRV-A'))).text()
  let total = 0
  for (const m of text.matchAll(/^xcon_association_attempts_total\{([^}]*)\} (\d+)$/gm)) if (m[1]!.includes('direction="outbound"')) total += Number(m[2])
  return total
}

async function rawAssociations (n: number): Promise<{ rawClientMs: number, rawServerMs: number }> {
  const { server, port } = await startRawServer('raw-association-server.js')
  try {
    const packr = new Packr({ useRecords: false })
    const content = Buffer.alloc(1024, 0x61)
    const one = async (i: number): Promise<void> => {
      await new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/xcon/association`, { perMessageDeflate: false })
        ws.on('message', (data: Buffer) => {
          const frame = packr.unpack(data) as { type: string }
          if (frame.type === 'challenge') ws.send(packr.pack({ type: 'bind', v: 2, server: 'SRV-A', site: 'CORP', build: 2653, proof: 'p'.repeat(64) }))
          else if (frame.type === 'bind_ok') ws.send(packr.pack({ type: 'transfer', seq: 1, messages: [{ envelope: { mtsId: `m${i}`, originator: 'user1@SRV-A', recipients: ['user1@SRV-B'], subject: 'association' }, content }] }))
          else ws.close(1000, 'released')
        })
        ws.once('close', () => resolve())
        ws.once('error', reject)
      })
    }
    for (let i = 0; i < WARM_UP; i++) await one(i)
    const client0 = process.cpuUsage()
    const server0 = cpuUsedSeconds(server.pid!)
    for (let i = 0; i < n; i++) await one(i)
    const client = process.cpuUsage(client0)
    return { rawClientMs: (client.user + client.system) / 1000 / n, rawServerMs: 1000 * (cpuUsedSeconds(server.pid!) - server0) / n }
  } finally {
    server.kill()
  }
}
