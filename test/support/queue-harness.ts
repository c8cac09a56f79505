import { SimulatedClock } from 'xstate'
import {
  MemoryStore, PeerQueue, parseTopology, resolveMtaConfig, startPool,
  type AssociationPorts, type AssociationReport, type Clock, type QueuedMessage, type TransferLink, type TransferMessage, type TransferOutcome,
  type TransportEvent, type TransportLogic
} from '@xcon/core'

const TOPOLOGY = `
sites:
  LAB: { secret: s, servers: [M1, M2] }
defaults: { build: 2653, timeScale: 600, controlBlocks: 8, traffic: off }
`

/** One transfer the queue sent, for the test to answer. */
export interface SentTransfer {
  assocId: string
  mtsIds: string[]
  answer: (outcomes: Array<TransferOutcome['outcome']> | TransferOutcome[]) => void
  reject: (err: Error) => void
}

/** A link the test answers by hand: each transfer waits in `sent` until answered. */
class ManualLink implements TransferLink {
  open = true
  constructor (readonly assocId: string, private readonly sent: SentTransfer[]) {}
  async transfer (messages: readonly TransferMessage[]): Promise<TransferOutcome[]> {
    return await new Promise((resolve, reject) => {
      const mtsIds = messages.map(m => m.envelope.mtsId)
      this.sent.push({
        assocId: this.assocId,
        mtsIds,
        answer: outcomes => resolve(outcomes.map((o, i) => typeof o === 'string' ? (o === 'refused' ? { mtsId: mtsIds[i]!, outcome: 'refused', code: 'XCON_ERR_TEST', text: 'refused by the test', definite: false } : { mtsId: mtsIds[i]!, outcome: o }) : o)),
        reject
      })
    })
  }
}

/**
 * One PeerQueue for M2 on M1, alone: a memory store, a SimulatedClock, the real pool and
 * association machine, and a transport that binds at once with a link the test answers. The
 * test can break the association (`breakAssociation`) as a reset would.
 */
export async function queueHarness (env: Record<string, string> = {}) {
  const sim = new SimulatedClock()
  const clock: Clock = { now: () => sim.now(), setTimeout: (fn, ms) => sim.setTimeout(fn, ms), clearTimeout: id => { sim.clearTimeout(id as number) } }
  const config = resolveMtaConfig(parseTopology(TOPOLOGY, 'test'), 'M1', env)
  const memory = new MemoryStore(() => sim.now())
  const store = memory.open()
  await store.openAndCheck()
  const sent: SentTransfer[] = []
  const live = new Map<string, (e: TransportEvent) => void>()
  let opens = 0
  const transport: TransportLogic = ({ input, sendBack, receive }) => {
    opens++
    live.set(input.assocId, sendBack)
    sendBack({ type: 'transport.connected' })
    sendBack({ type: 'transport.bound', peer: input.peer ?? '', link: new ManualLink(input.assocId, sent) })
    receive(cmd => { if (cmd.type === 'transport.release') sendBack({ type: 'transport.closed' }) })
    return () => { live.delete(input.assocId) }
  }
  const quiet: AssociationReport = { exhausted: () => undefined, acquired: () => undefined, bound: () => undefined, ended: () => undefined }
  const pool = startPool({ capacity: 8, networkType: 5, leakPolicy: { leaks: false, kinds: [], probability: 0 }, seed: 1, maxOpening: 8 }, sim)
  const ports: AssociationPorts = { kind: 'site', pool, transport, clock, timing: config.timing, report: quiet }
  const ndrs: Array<{ mtsId: string, reason: string, diagnostic: string }> = []
  const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }
  const queue = new PeerQueue('server:M2', {
    config,
    log,
    store,
    clock,
    associations: { site: ports, connector: ports },
    nonDelivery: async (item, reason, diagnostic) => { ndrs.push({ mtsId: item.envelope.mtsId, reason, diagnostic }) }
  }, { targets: ['M2'], channel: 'site', dn: '/o=XCON/ou=LAB/cn=Configuration/cn=Servers/cn=M2' })
  let n = 0
  /** Stores `count` messages for M2 and hands them to the queue, as submission does. */
  const submit = async (count: number): Promise<QueuedMessage[]> => {
    const now = sim.now()
    const queued = Array.from({ length: count }, () => {
      const mtsId = `c=US;a= ;p=XCON;l=M1-${++n}`
      return { queue: 'server:M2', envelope: { mtsId, originator: 'user1@M1', recipients: ['user2@M2'], priority: 'normal' as const, submitTime: now, subject: '', kind: 'message' as const, trace: [] }, content: new Uint8Array(10), transferFailures: 0, enqueuedAt: now }
    })
    const records = await store.submit(queued, [])
    queue.add(records)
    return records
  }
  /** Lets promises settle (the store's writes, the link's answers). */
  const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await null }
  const advance = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 100) { sim.increment(Math.min(100, ms - t)); await settle() }
  }
  const breakAssociation = (assocId: string): void => { live.get(assocId)?.({ type: 'transport.failed', kind: 'reset', reason: 'connection closed (1006)' }) }
  return { queue, store, memory, config, sent, ndrs, submit, settle, advance, breakAssociation, opens: () => opens, pool }
}
