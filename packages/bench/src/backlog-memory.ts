import { readFileSync } from 'node:fs'
import { BenchSite, twoMtas } from './bench-site.js'

export interface MemorySample { rssMB: number, anonMB: number, fileMB: number }
export interface BacklogMemory { messages: number, idle: MemorySample, queued: MemorySample, restarted: MemorySample, restartSeconds: number }

/** RSS of a process and its split: private (RssAnon) and mapped files (RssFile: the node binary, the store's pages). */
function memory (pid: number): MemorySample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) / 1024
  return { rssMB: kb('VmRSS'), anonMB: kb('RssAnon'), fileMB: kb('RssFile') }
}

/**
 * Memory against the backlog (issue #10): `messages` of 1 KiB queued for a peer that is down,
 * RSS while they wait and after a restart with all of them still queued. Queues keep contents on
 * disk and only a window in memory, so the private part should hardly move with the backlog.
 */
export async function backlogMemory (messages: number): Promise<BacklogMemory> {
  const b = await BenchSite.start(twoMtas(), ['SRV-A'])
  try {
    const idle = memory(b.pid('SRV-A'))
    await b.submit('SRV-A', 'user1@SRV-B', messages)
    await new Promise(resolve => setTimeout(resolve, 2000))
    const queued = memory(b.pid('SRV-A'))
    const t0 = Date.now()
    await b.site.restart('SRV-A')
    const restartSeconds = (Date.now() - t0) / 1000
    await new Promise(resolve => setTimeout(resolve, 2000))
    const status = await b.status('SRV-A')
    const depth = status.queues[0]?.depth
    if (depth !== messages) throw new Error(`SRV-A restarted with ${depth ?? 'no queue'} queued, not ${messages}`)
    return { messages, idle, queued, restarted: memory(b.pid('SRV-A')), restartSeconds }
  } finally {
    await b.close()
  }
}
