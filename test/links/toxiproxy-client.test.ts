import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Toxiproxy } from 'toxiproxy-node-client'
import { xcon } from '../support/run-xcon.js'
import { countByMtsId, waitFor } from '../support/site-harness.js'

/**
 * Toxiproxy's own Node client (toxiproxy-node-client, from npm; nobody here wrote it) drives the
 * links of a real local site started with `xcon up --links`: KB Q260167 on one link.
 * Names of our own, not the examples': OSLO runs SP3 (2650), BERGEN and TROMSO SP4.
 */
const TOPOLOGY = `sites:
  NORGE: { secret: fjord, servers: [OSLO, BERGEN, TROMSO] }
defaults: { build: 2653, timeScale: 600, controlBlocks: 6, traffic: off, leak: { probability: 1 } }
servers:
  OSLO: { build: 2650 }
`

let dir: string | undefined
afterEach(async () => {
  if (dir === undefined) return
  await xcon(['down', '--data', join(dir, 'site')], 60_000)
  // Whatever is left (a failed start): every pid the site recorded, the links process's too.
  try {
    const state = JSON.parse(readFileSync(join(dir, 'site', 'site.json'), 'utf8')) as { servers: Record<string, { pid: number | null }>, links?: { pid: number | null } }
    for (const pid of [...Object.values(state.servers).map(s => s.pid), state.links?.pid]) if (pid != null) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
  } catch { /* no state */ }
  rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

async function status (data: string): Promise<{ mtas: any[], links: { api: string, port: number, proxies: number, state: string } }> {
  const r = await xcon(['status', '--json', '--data', data])
  return JSON.parse(r.stdout)
}
const mta = async (data: string, name: string): Promise<any> => (await status(data)).mtas.find(m => m.name === name)

async function deliveries (data: string, name: string): Promise<Array<{ mtsId: string }>> {
  const s = (await mta(data, name)).metricsUrl.replace('/metrics', '/deliveries')
  return ((await (await fetch(s)).json()) as { deliveries: Array<{ mtsId: string }> }).deliveries
}

describe('a Toxiproxy client drives the links of a local site', () => {
  it('lists the links, times one out with a timeout toxic until a pre-SP4 MTA leaks, and after remove and reset the mail flows', async () => {
    dir = mkdtempSync(join(tmpdir(), 'xcon-toxi-'))
    const data = join(dir, 'site')
    writeFileSync(join(dir, 'norge.yaml'), TOPOLOGY)
    const up = await xcon(['up', '-d', '--links', '--topology', join(dir, 'norge.yaml'), '--data', data], 90_000)
    expect(up.code, up.stderr).toBe(0)
    const { links } = await status(data)
    expect(links).toMatchObject({ proxies: 6, state: 'running' })
    expect(up.stdout).toContain(`Toxiproxy API at ${links.api}`)

    const toxiproxy = new Toxiproxy(links.api)
    expect(await toxiproxy.getVersion()).toContain('2.12.0')
    const proxies = await toxiproxy.getAll()
    expect(Object.keys(proxies).sort()).toEqual(['BERGEN->OSLO', 'BERGEN->TROMSO', 'OSLO->BERGEN', 'OSLO->TROMSO', 'TROMSO->BERGEN', 'TROMSO->OSLO'])
    const link = proxies['OSLO->BERGEN']!
    expect(link.enabled).toBe(true)
    expect(link.listen).toMatch(/^127\.0\.0\.1:\d+$/)
    // The upstream is BERGEN's own MTA port, where the other links to BERGEN lead too.
    const bergenPort = (JSON.parse(readFileSync(join(data, 'site.json'), 'utf8')) as { servers: Record<string, { port: number }> }).servers.BERGEN!.port
    expect(link.upstream).toBe(`127.0.0.1:${bergenPort}`)
    expect(proxies['TROMSO->BERGEN']!.upstream).toBe(link.upstream)

    // Toxiproxy's defaults: stream downstream, toxicity 1, name timeout_downstream. BERGEN's answers never reach OSLO.
    const proxy = await toxiproxy.get('OSLO->BERGEN')
    const toxic = await proxy.addToxic({ type: 'timeout', attributes: { timeout: 0 } } as never)
    expect(toxic.toJson()).toEqual({ name: 'timeout_downstream', type: 'timeout', stream: 'downstream', toxicity: 1, attributes: { timeout: 0 } })
    await expect(proxy.addToxic({ type: 'timeout', attributes: { timeout: 0 } } as never)).rejects.toThrow(/409/)
    const ids = (await xcon(['send', '--from', 'OSLO', '--to', 'user1@BERGEN', '--count', '3', '--json', '--data', data])).stdout
    const sent = (JSON.parse(ids) as { mtsIds: string[] }).mtsIds
    expect(sent).toHaveLength(3)

    const leaked = await waitFor('OSLO to leak a control block on a timed-out association to BERGEN', async () => {
      const o = await mta(data, 'OSLO')
      return o.controlBlocks.leakedByKind.timeout >= 1 ? o : undefined
    }, 60_000, 250)
    expect(leaked.queues.find((q: any) => q.peer === 'BERGEN').depth).toBe(3)
    expect((await deliveries(data, 'BERGEN')).length).toBe(0)
    // The toxic is in the site's log stream, before its effect.
    const actions = JSON.parse((await xcon(['logs', '--event', 'action', '--json', '--data', data])).stdout.trim().split('\n')[0]!)
    expect(actions).toMatchObject({ tag: 'action', action: 'toxic', server: 'OSLO', links: ['OSLO->BERGEN'] })

    await (await proxy.getToxic('timeout_downstream')).remove()
    await toxiproxy.reset()
    await waitFor('the three on BERGEN', async () => (await deliveries(data, 'BERGEN')).length === 3, 60_000, 250)
    const onBergen = countByMtsId(await deliveries(data, 'BERGEN'))
    expect(sent.map(id => onBergen.get(id))).toEqual([1, 1, 1])
    expect((await toxiproxy.get('OSLO->BERGEN')).enabled).toBe(true)
    expect(((await (await fetch(`${links.api}/proxies/OSLO-%3EBERGEN/toxics`)).json()) as unknown[])).toEqual([])
  })
})
