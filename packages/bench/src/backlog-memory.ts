import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { BenchSite, twoMtas, until } from './bench-site.js'

export interface MemorySample { rssMB: number, anonMB: number, fileMB: number }
export interface BacklogMemory {
  messages: number
  idle: MemorySample
  /** QUEUED_SECONDS after the last submission: the intake's garbage is still on the heap. */
  queued: MemorySample
  /** SETTLE_SECONDS after it, once V8's memory reducer has collected that garbage. */
  settled: MemorySample
  restarted: MemorySample
  restartSeconds: number
  /** The peer back: how long the backlog took to drain, and memory when the queue was empty and SETTLE_SECONDS later. */
  drainSeconds: number
  drained: MemorySample
  drainedSettled: MemorySample
  /** The store's file on disk with the backlog queued, and SETTLE_SECONDS after it drained. */
  storeQueuedMB: number
  storeDrainedMB: number
}

/** When the first sample is taken after the last submission. */
export const QUEUED_SECONDS = 2
/** Long enough for V8's idle-time collection after the intake (measured: it ran 12 s after the last request). */
export const SETTLE_SECONDS = 30

/** RSS of a process and its split: private (RssAnon) and mapped files (RssFile: the node binary, the store's pages). */
function memory (pid: number): MemorySample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) / 1024
  return { rssMB: kb('VmRSS'), anonMB: kb('RssAnon'), fileMB: kb('RssFile') }
}

/**
 * Memory against the backlog (issue #10): `messages` of 1 KiB queued for a peer that is down,
 * RSS while they wait (just after the intake, and once it has settled) and after a restart with
 * all of them still queued. Queues keep contents on disk and only a window in memory, so the
 * private part should hardly move with the backlog. The mapped part grows with it: each commit
 * reads the B-tree pages it appends to through LMDB's map, and the kernel maps the pages around
 * each one it faults in (fault-around), the new records among them. Those are clean page-cache
 * pages, which the kernel reclaims under pressure, but RSS counts them while they are mapped
 * (the store's remapChunks unmaps the chunks no read holds).
 */
export async function backlogMemory (messages: number): Promise<BacklogMemory> {
  const b = await BenchSite.start(twoMtas(), ['SRV-A'])
  try {
    const idle = memory(b.pid('SRV-A'))
    await b.submit('SRV-A', 'user1@SRV-B', messages)
    await new Promise(resolve => setTimeout(resolve, QUEUED_SECONDS * 1000))
    const queued = memory(b.pid('SRV-A'))
    await new Promise(resolve => setTimeout(resolve, (SETTLE_SECONDS - QUEUED_SECONDS) * 1000))
    const settled = memory(b.pid('SRV-A'))
    const t0 = Date.now()
    await b.site.restart('SRV-A')
    const restartSeconds = (Date.now() - t0) / 1000
    await new Promise(resolve => setTimeout(resolve, 2000))
    const status = await b.status('SRV-A')
    const depth = status.queues[0]?.depth
    if (depth !== messages) throw new Error(`SRV-A restarted with ${depth ?? 'no queue'} queued, not ${messages}`)
    const restarted = memory(b.pid('SRV-A'))
    const storeQueuedMB = storeMB(b)
    // The peer comes back and the backlog drains (issue #30: memory must not follow it afterwards).
    b.site.spawn('SRV-B')
    await b.site.waitReady('SRV-B', 60_000)
    const drainMs = await until('the backlog to drain', async () => (await b.status('SRV-A')).queues[0]?.depth === 0, 600_000, 250)
    const drained = memory(b.pid('SRV-A'))
    await new Promise(resolve => setTimeout(resolve, SETTLE_SECONDS * 1000))
    return {
      messages, idle, queued, settled, restarted, restartSeconds,
      drainSeconds: drainMs / 1000, drained, drainedSettled: memory(b.pid('SRV-A')), storeQueuedMB, storeDrainedMB: storeMB(b)
    }
  } finally {
    await b.close()
  }
}

/** The size of SRV-A's store file on disk, in MB. */
function storeMB (b: BenchSite): number {
  return statSync(join(b.site.dataDir, 'data', 'SRV-A', 'store', 'data.mdb')).size / 1024 / 1024
}
