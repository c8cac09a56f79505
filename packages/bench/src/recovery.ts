import { BenchSite, until } from './bench-site.js'

/**
 * A leaky MTA (2650) holding `backlog` messages for a healthy peer, stuck on Q260167: seconds
 * from `xcon restart` to an empty queue.
 */
export async function recovery (backlog: number): Promise<{ seconds: number, stuckFor: number }> {
  const b = await BenchSite.start(`sites:\n  CORP: { secret: bench, servers: [SRV-A, SRV-B, SRV-C] }\ndefaults: { build: 2653, timeScale: 600, controlBlocks: 20, traffic: off }\nservers:\n  SRV-A: { build: 2650, controlBlocks: 6, leak: { probability: 1 } }\n`)
  try {
    await b.site.kill('SRV-C')
    await b.submit('SRV-A', 'user1@SRV-C', 1)
    await until('SRV-A to lose its control blocks', async () => (await b.status('SRV-A')).controlBlocks.leaked === 5, 60_000, 100)
    await b.submit('SRV-A', 'user1@SRV-B', backlog)
    const stuck = Date.now()
    await until('a 9156 for SRV-B', async () => ((await b.status('SRV-A')).queues.find(q => q.peer === 'SRV-B')?.failedOpens ?? 0) >= 1, 30_000, 100)
    const stuckFor = (Date.now() - stuck) / 1000
    const t0 = Date.now()
    await b.site.restart('SRV-A')
    await until('the backlog to drain', async () => (await b.status('SRV-A')).queues.find(q => q.peer === 'SRV-B')?.depth === 0, 600_000, 100)
    return { seconds: (Date.now() - t0) / 1000, stuckFor }
  } finally {
    await b.close()
  }
}
