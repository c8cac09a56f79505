import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TRANSFER_BATCH, TRANSFER_WINDOW, formatMtsId, type Envelope } from '@xcon/core'
import { MtaStore } from '@xcon/mta'

/** What the durable writes cost, per message: CPU in µs (ms for one alone), rates in msg/s. */
export interface StoreCeiling {
  senderMicros: number
  receiverMicros: number
  senderRate: number
  receiverRate: number
  /** CPU of the same writes for a message that travels alone (a mesh probe): each write its own commit and sync. */
  aloneSenderMs: number
  aloneReceiverMs: number
}

/**
 * The durable writes one message costs, with no network, no routing and no machines: what the
 * sending MTA's store does (the submission's commit of each 1 KiB record in requests of 5,000,
 * then its removal a transfer of TRANSFER_BATCH at a time) and what the receiving MTA's store
 * does (each transfer accepted in one transaction, TRANSFER_WINDOW messages in flight), on real
 * LMDB stores in a temporary directory. CPU counts this process's threads, LMDB's writer included.
 * Together with the raw batched wire's CPU this is the floor of what xcon can cost a message.
 * Then the same writes for `alone` messages one at a time, as a mesh probe travels: the cost of a
 * commit and its sync, most of it the kernel's.
 */
export async function storeCeiling (messages: number, alone = 300): Promise<StoreCeiling> {
  const dir = mkdtempSync(join(tmpdir(), 'xcon-bench-store-'))
  const content = Buffer.alloc(1024, 0x61)
  const envelope = (i: number): Envelope => ({
    mtsId: formatMtsId('CORP', 'SRV-A', Date.now(), i), originator: 'user1@SRV-A', recipients: ['user1@SRV-B'], priority: 'normal',
    submitTime: Date.now(), subject: 'bench', kind: 'message', trace: [{ server: 'SRV-A', site: 'CORP', arrived: Date.now() }]
  })
  try {
    const sender = await measure(join(dir, 'sender'), async s => {
      for (let done = 0; done < messages; done += 5000) {
        const n = Math.min(5000, messages - done)
        const records = await s.submit(Array.from({ length: n }, (_, i) => ({ queue: 'SRV-B', envelope: envelope(done + i), content, transferFailures: 0, enqueuedAt: Date.now() })), [])
        const transfers: Array<Promise<void>> = []
        for (let k = 0; k < n; k += TRANSFER_BATCH) transfers.push(s.dequeue(records.slice(k, k + TRANSFER_BATCH)))
        await Promise.all(transfers)
      }
    })
    const inFlight = Math.max(1, Math.floor(TRANSFER_WINDOW / TRANSFER_BATCH))
    const receiver = await measure(join(dir, 'receiver'), async s => {
      for (let done = 0; done < messages; done += TRANSFER_BATCH * inFlight) {
        const transfers: Array<Promise<unknown>> = []
        for (let k = 0; k < inFlight; k++) {
          const first = done + k * TRANSFER_BATCH
          const n = Math.min(TRANSFER_BATCH, messages - first)
          if (n <= 0) break
          transfers.push(s.accept(Array.from({ length: n }, (_, i) => ({ envelope: envelope(first + i), mailboxes: ['user1'], onward: [] }))))
        }
        await Promise.all(transfers)
      }
    })
    const aloneSender = await measure(join(dir, 'alone-sender'), async s => {
      for (let i = 0; i < alone; i++) await s.dequeue(await s.submit([{ queue: 'SRV-B', envelope: envelope(i), content, transferFailures: 0, enqueuedAt: Date.now() }], []))
    })
    const aloneReceiver = await measure(join(dir, 'alone-receiver'), async s => {
      for (let i = 0; i < alone; i++) await s.accept([{ envelope: envelope(i), mailboxes: ['user1'], onward: [] }])
    })
    return {
      senderMicros: sender.cpu / messages * 1e6,
      receiverMicros: receiver.cpu / messages * 1e6,
      senderRate: messages / sender.seconds,
      receiverRate: messages / receiver.seconds,
      aloneSenderMs: aloneSender.cpu / alone * 1e3,
      aloneReceiverMs: aloneReceiver.cpu / alone * 1e3
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function measure (path: string, work: (s: MtaStore) => Promise<void>): Promise<{ cpu: number, seconds: number }> {
  const store = new MtaStore(path)
  await store.openAndCheck()
  try {
    const cpu0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    await work(store)
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    const cpu = process.cpuUsage(cpu0)
    return { cpu: (cpu.user + cpu.system) / 1e6, seconds }
  } finally {
    await store.close()
  }
}
