import { LinkState, partitionToxic } from '@xcon/core'
import { LinkProxy } from '@xcon/cli'
import { BenchSite, until } from './bench-site.js'

/**
 * Seconds from `kill -9` of a peer to the survivor's association being closed, and from a
 * black-holed link (through a proxy) to its detection by heartbeat. timeScale 6 keeps an idle
 * association bound (disconnect 20 s), so there is one to lose.
 */
export async function failureDetection (): Promise<{ killSeconds: number, blackholeSeconds: number }> {
  const topology = `sites:\n  CORP: { secret: bench, servers: [SRV-A, SRV-B] }\ndefaults: { build: 2653, timeScale: 6, controlBlocks: 20, traffic: off }\n`
  const b = await BenchSite.start(topology, [])
  const upstream = { host: '127.0.0.1', port: b.site.server('SRV-B').port }
  const link = new LinkState('SRV-A', 'SRV-B', '127.0.0.1:0', `${upstream.host}:${upstream.port}`)
  const proxy = new LinkProxy(link, upstream)
  await proxy.listen()
  b.site.setEnv('SRV-A', { XCON_PEER_ADDRESSES: `SRV-B=127.0.0.1:${proxy.port}` })
  try {
    for (const n of b.site.names) await b.site.start(n)
    const bound = async (): Promise<boolean> => (await b.status('SRV-A')).associations.some((a: { direction: string, state: string }) => a.direction === 'outbound' && a.state === 'bound')
    await b.submit('SRV-A', 'user1@SRV-B', 1)
    await until('a bound association', bound, 20_000)
    let t0 = Date.now()
    await b.site.kill('SRV-B')
    await until('the association to close after the kill', async () => !(await bound()), 20_000, 10)
    const killSeconds = (Date.now() - t0) / 1000

    await b.site.start('SRV-B')
    await b.submit('SRV-A', 'user1@SRV-B', 1)
    await until('a new bound association', bound, 30_000)
    t0 = Date.now()
    link.addToxic(partitionToxic())
    await until('the heartbeat to notice the black hole', async () => !(await bound()), 20_000, 10)
    return { killSeconds, blackholeSeconds: (Date.now() - t0) / 1000 }
  } finally {
    await proxy.close()
    await b.close()
  }
}
