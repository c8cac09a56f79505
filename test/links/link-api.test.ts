import { spawnSync } from 'node:child_process'
import { createServer, connect, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { faultIntervals, type HistoryRecord } from '@xcon/core'
import { LinkApi, type LinkApiChange } from '../../packages/cli/src/links/link-api.js'
import { linkFaultRecord } from '../../packages/cli/src/links/link-fault-record.js'
import { SiteProxies } from '../../packages/cli/src/links/site-proxies.js'

/**
 * The link API as Toxiproxy's documentation and api.go have it (routes, fields, status codes,
 * error bodies), and xcon's extensions, over real proxies whose upstreams echo. Servers named
 * by the test, not the examples.
 */
const SERVERS = ['NORTH', 'SOUTH', 'EAST']
let echoes: Server[] = []
let site: SiteProxies | undefined
let api: LinkApi | undefined
let changes: LinkApiChange[] = []

afterEach(async () => {
  await api?.close()
  await site?.close()
  // The next test's API takes port 8474 again: let fetch see this one's connections close first.
  await new Promise(resolve => setTimeout(resolve, 100))
  for (const e of echoes) e.close()
  echoes = []
  site = api = undefined
  changes = []
})

async function setup (): Promise<string> {
  const ports: Record<string, number> = {}
  for (const s of SERVERS) {
    const e = createServer(c => { c.on('error', () => undefined); c.pipe(c) })
    await new Promise<void>(resolve => e.listen(0, '127.0.0.1', () => resolve()))
    echoes.push(e)
    ports[s] = (e.address() as { port: number }).port
  }
  site = await SiteProxies.open(SERVERS, s => ({ host: '127.0.0.1', port: ports[s]! }))
  api = await LinkApi.serve(site, c => changes.push(c))
  return api.url
}

async function call (url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any, type: string | null }> {
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch { /* plain text */ }
  return { status: res.status, body: parsed, type: res.headers.get('content-type') }
}

/** One line through a link: what came back within 300 ms. */
async function through (port: number): Promise<string> {
  return await new Promise(resolve => {
    const s = connect(port, '127.0.0.1')
    let got = ''
    s.on('connect', () => s.write('ping'))
    s.on('data', d => { got += d.toString() })
    s.on('error', (err: NodeJS.ErrnoException) => { resolve(`error ${err.code ?? ''}`) })
    setTimeout(() => { s.destroy(); resolve(got === '' ? 'silence' : got) }, 300)
  })
}

const L = (from: string, to: string): string => encodeURIComponent(`${from}->${to}`)

describe('the Toxiproxy-compatible link API', () => {
  it('lists every directed link as a proxy, with Toxiproxy\'s fields', async () => {
    const base = await setup()
    expect((await call(`${base}/version`)).body).toMatchObject({ version: '2.12.0' })
    const all = await call(`${base}/proxies`)
    expect(all.status).toBe(200)
    expect(all.type).toBe('application/json')
    expect(Object.keys(all.body)).toHaveLength(6)
    const p = all.body['NORTH->SOUTH']
    expect(Object.keys(p).sort()).toEqual(['enabled', 'listen', 'name', 'toxics', 'upstream'])
    expect(p).toMatchObject({ name: 'NORTH->SOUTH', enabled: true, toxics: [] })
    expect(p.listen).toBe(`127.0.0.1:${site!.proxy('NORTH', 'SOUTH').port}`)
    expect(await through(site!.proxy('NORTH', 'SOUTH').port)).toBe('ping')
    expect((await call(`${base}/proxies/${L('NORTH', 'SOUTH')}`)).body).toEqual(p)
  })

  it('answers Toxiproxy\'s errors: 404 for an unknown proxy or toxic, 409 for a duplicate, 400 for a bad body or type or stream', async () => {
    const base = await setup()
    const missing = await call(`${base}/proxies/NOWHERE`)
    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({ error: 'proxy not found', status: 404 })
    expect(missing.body.hint).toContain('NORTH->SOUTH')
    const toxics = `${base}/proxies/${L('NORTH', 'SOUTH')}/toxics`
    expect((await call(toxics, 'POST', { type: 'earthquake' })).body).toMatchObject({ error: 'invalid toxic type', status: 400 })
    expect((await call(toxics, 'POST', { type: 'latency', stream: 'sideways' })).body).toMatchObject({ error: 'stream was invalid, can be either upstream or downstream', status: 400 })
    const broken = await call(toxics, 'POST', '{"type": ')
    expect(broken.status).toBe(400)
    expect(broken.body.error).toMatch(/^bad request body: /)
    expect((await call(toxics, 'POST', { type: 'latency', attributes: { latency: 'slow' } })).body.error).toMatch(/^bad request body: attributes.latency/)
    const added = await call(toxics, 'POST', { type: 'latency', attributes: { latency: 20 } })
    expect(added.status).toBe(200)
    expect(added.body).toEqual({ name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 20, jitter: 0 } })
    expect((await call(toxics, 'POST', { type: 'latency' })).body).toMatchObject({ error: 'toxic already exists', status: 409 })
    expect((await call(`${toxics}/nothing`)).body).toMatchObject({ error: 'toxic not found', status: 404 })
    const big = await call(toxics, 'POST', { type: 'latency', name: 'x'.repeat(70_000) })
    expect(big.status).toBe(413)
  })

  it('gets, updates and deletes a toxic; DELETE answers 204 and a second one 404', async () => {
    const base = await setup()
    const toxics = `${base}/proxies/${L('SOUTH', 'EAST')}/toxics`
    await call(toxics, 'POST', { name: 'slow', type: 'bandwidth', stream: 'upstream', toxicity: 0.5, attributes: { rate: 100 } })
    expect((await call(`${toxics}/slow`)).body).toMatchObject({ name: 'slow', stream: 'upstream', toxicity: 0.5, attributes: { rate: 100 } })
    const updated = await call(`${toxics}/slow`, 'POST', { attributes: { rate: 5 } })
    expect(updated.body).toMatchObject({ name: 'slow', type: 'bandwidth', toxicity: 0.5, attributes: { rate: 5 } })
    expect((await call(`${toxics}/slow`, 'PATCH', { toxicity: 1 })).body).toMatchObject({ toxicity: 1, attributes: { rate: 5 } })
    expect((await call(toxics)).body).toHaveLength(1)
    expect((await call(`${toxics}/slow`, 'DELETE')).status).toBe(204)
    expect((await call(`${toxics}/slow`, 'DELETE')).status).toBe(404)
  })

  it('disables a link as Toxiproxy does (connects refused) and reset enables it and removes every toxic (204)', async () => {
    const base = await setup()
    const port = site!.proxy('EAST', 'NORTH').port
    const off = await call(`${base}/proxies/${L('EAST', 'NORTH')}`, 'POST', { enabled: false })
    expect(off.body).toMatchObject({ name: 'EAST->NORTH', enabled: false })
    expect(await through(port)).toBe('error ECONNREFUSED')
    await call(`${base}/proxies/${L('NORTH', 'EAST')}/toxics`, 'POST', { type: 'timeout', attributes: { timeout: 0 } })
    expect(await through(site!.proxy('NORTH', 'EAST').port)).toBe('silence')
    const reset = await call(`${base}/reset`, 'POST')
    expect(reset.status).toBe(204)
    expect(reset.body).toBe('')
    expect(await through(port)).toBe('ping')
    expect(await through(site!.proxy('NORTH', 'EAST').port)).toBe('ping')
    expect(Object.values((await call(`${base}/proxies`)).body).every((p: any) => p.enabled && p.toxics.length === 0)).toBe(true)
  })

  it('refuses, saying why, what links cannot be: a new proxy, a deletion, a new upstream, a browser', async () => {
    const base = await setup()
    const created = await call(`${base}/proxies`, 'POST', { name: 'redis', listen: '127.0.0.1:26379', upstream: '127.0.0.1:6379' })
    expect(created.status).toBe(403)
    expect(created.body.error).toContain('is not a link of this site')
    expect((await call(`${base}/proxies`, 'POST', { name: 'NORTH->SOUTH', upstream: 'x:1' })).status).toBe(409)
    expect((await call(`${base}/proxies`, 'POST', { upstream: 'x:1' })).body).toMatchObject({ error: 'missing required field: name', status: 400 })
    expect((await call(`${base}/proxies/${L('NORTH', 'SOUTH')}`, 'DELETE')).status).toBe(403)
    expect((await call(`${base}/proxies/${L('NORTH', 'SOUTH')}`, 'POST', { upstream: '10.0.0.1:25' })).status).toBe(403)
    const populated = await call(`${base}/populate`, 'POST', [{ name: 'NORTH->SOUTH', enabled: true }])
    expect(populated.status).toBe(201)
    expect(populated.body.proxies[0]).toMatchObject({ name: 'NORTH->SOUTH' })
    const browser = await call(`${base}/proxies`, 'GET', undefined, { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64)' })
    expect(browser).toMatchObject({ status: 403, body: 'User agent not allowed\n' })
    expect((await call(`${base}/nothing/here`)).status).toBe(404)
    // A known path with another method: 405, as Toxiproxy's router answers.
    expect((await call(`${base}/reset`)).status).toBe(405)
    expect((await call(`${base}/proxies/${L('NORTH', 'SOUTH')}/toxics`, 'DELETE')).status).toBe(405)
  })

  it('xcon\'s extensions: one toxic on a group of links, both directions, a partition in one call and its heal', async () => {
    const base = await setup()
    const group = await call(`${base}/xcon/links/toxics`, 'POST', { from: ['NORTH'], to: ['SOUTH', 'EAST'], type: 'latency', stream: 'both', attributes: { latency: 50 } })
    expect(group.status).toBe(200)
    expect(group.body.links).toEqual(['NORTH->SOUTH', 'NORTH->EAST'])
    expect(group.body.toxic).toMatchObject({ name: 'latency_both', stream: 'both' })
    // All or nothing: a name taken on one link changes none.
    const again = await call(`${base}/xcon/links/toxics`, 'POST', { from: 'SOUTH', to: 'NORTH', bothWays: true, type: 'latency', stream: 'both' })
    expect(again.body).toMatchObject({ error: 'toxic already exists', status: 409 })
    expect((await call(`${base}/proxies/${L('SOUTH', 'NORTH')}/toxics`)).body).toEqual([])
    expect((await call(`${base}/xcon/links/toxics`, 'POST', { from: ['ATLANTIS'], to: ['SOUTH'], type: 'latency' })).status).toBe(404)
    expect((await call(`${base}/xcon/links/toxics/latency_both`, 'DELETE')).status).toBe(204)
    expect((await call(`${base}/xcon/links/toxics/latency_both`, 'DELETE')).status).toBe(404)

    const cut = await call(`${base}/xcon/partition`, 'POST', { groups: [['north'], ['SOUTH', 'EAST']] })
    expect(cut.body).toEqual({ links: ['NORTH->SOUTH', 'NORTH->EAST', 'SOUTH->NORTH', 'EAST->NORTH'], mode: 'blackhole' })
    expect((await call(`${base}/proxies/${L('SOUTH', 'NORTH')}`)).body.toxics[0]).toMatchObject({ name: 'xcon_partition', type: 'timeout', stream: 'both', attributes: { timeout: 0 } })
    expect(await through(site!.proxy('SOUTH', 'NORTH').port)).toBe('silence')
    expect(await through(site!.proxy('SOUTH', 'EAST').port)).toBe('ping')
    expect((await call(`${base}/xcon/partition`, 'POST', { groups: [['NORTH']] })).status).toBe(400)
    expect((await call(`${base}/xcon/partition`, 'DELETE')).status).toBe(204)
    expect(await through(site!.proxy('SOUTH', 'NORTH').port)).toBe('ping')
  })

  it('counts bytes per link and stream on /metrics, Toxiproxy\'s way, and promtool accepts it', async () => {
    const base = await setup()
    await call(`${base}/proxies/${L('NORTH', 'SOUTH')}/toxics`, 'POST', { type: 'timeout', attributes: { timeout: 0 } })
    expect(await through(site!.proxy('NORTH', 'SOUTH').port)).toBe('silence')
    const m = await call(`${base}/metrics`)
    expect(m.status).toBe(200)
    expect(m.body).toContain('xcon_link_received_bytes_total{link="NORTH->SOUTH",direction="upstream"} 4')
    expect(m.body).toContain('xcon_link_received_bytes_total{link="NORTH->SOUTH",direction="downstream"} 4')
    expect(m.body).toContain('xcon_link_sent_bytes_total{link="NORTH->SOUTH",direction="downstream"} 0')
    if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0) {
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: m.body, encoding: 'utf8' })
      expect(lint.stdout + lint.stderr).toBe('')
      expect(lint.status).toBe(0)
    }
  })

  it('reports every change; in a scenario\'s history each toxic is a fault period of both ends until it goes', async () => {
    const base = await setup()
    await call(`${base}/proxies/${L('NORTH', 'SOUTH')}/toxics`, 'POST', { type: 'timeout', attributes: { timeout: 0 } })
    await call(`${base}/proxies/${L('EAST', 'SOUTH')}/toxics`, 'POST', { name: 'late', type: 'latency', attributes: { latency: 5 } })
    await call(`${base}/proxies/${L('NORTH', 'SOUTH')}/toxics/timeout_downstream`, 'DELETE')
    await call(`${base}/reset`, 'POST')
    expect(changes.map(c => c.action)).toEqual(['toxic', 'toxic', 'untoxic', 'reset'])
    expect(changes[0]!.text).toBe('toxic timeout_downstream (type timeout, timeout=0, downstream, toxicity 1) on NORTH->SOUTH')
    const history: HistoryRecord[] = changes.map((c, i) => linkFaultRecord(1000 * (i + 1), c, SERVERS))
    expect(history[0]).toMatchObject({ type: 'fault', action: 'link-toxic', targets: ['NORTH', 'SOUTH'], links: ['NORTH->SOUTH'], toxic: 'timeout_downstream' })
    const spans = faultIntervals(history)
    expect(spans.get('NORTH')).toEqual([[1000, 3000]])
    // SOUTH was under two toxics: the first one's removal does not end its period, the reset does.
    expect(spans.get('SOUTH')).toEqual([[1000, 4000]])
    expect(spans.get('EAST')).toEqual([[2000, 4000]])
  })
})
