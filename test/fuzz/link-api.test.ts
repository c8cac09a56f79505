import fc from 'fast-check'
import { createServer, connect, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { LinkApi } from '../../packages/cli/src/links/link-api.js'
import { SiteProxies } from '../../packages/cli/src/links/site-proxies.js'
import { FUZZ_SEED, fuzzCount } from '../support/fuzz-inputs.js'

const SERVERS = ['KILO', 'LIMA']
let echo: Server | undefined
let site: SiteProxies | undefined
let api: LinkApi | undefined
afterEach(async () => {
  await api?.close()
  await site?.close()
  echo?.close()
})

const value = fc.oneof(
  fc.string({ maxLength: 20 }), fc.integer({ min: -5, max: 3_000_000_000 }), fc.double(), fc.boolean(), fc.constant(null),
  fc.constantFrom('latency', 'timeout', 'bandwidth', 'slicer', 'limit_data', 'reset_peer', 'slow_close', 'upstream', 'downstream', 'both', 'KILO', 'LIMA', 'ZULU'),
  fc.array(fc.constantFrom('KILO', 'LIMA', 'ZULU', ''), { maxLength: 3 })
)
const attributes = fc.dictionary(fc.constantFrom('latency', 'jitter', 'rate', 'delay', 'timeout', 'average_size', 'size_variation', 'bytes', 'x'), value, { maxKeys: 4 })
const body = fc.oneof(
  fc.record({ name: value, type: value, stream: value, toxicity: value, attributes: fc.oneof(attributes, value), enabled: value, from: value, to: value, bothWays: value, groups: fc.oneof(value, fc.array(fc.array(value, { maxLength: 3 }), { maxLength: 3 })), mode: value, upstream: value, listen: value }, { requiredKeys: [] }).map(b => JSON.stringify(b)),
  fc.constantFrom('null', '[]', '[{"name":"KILO->LIMA"}]', '"x"', '{', '', '{"type":"timeout","attributes":{"timeout":1e400}}'),
  fc.string({ maxLength: 60 })
)
const segment = fc.oneof(fc.constantFrom('KILO-%3ELIMA', 'LIMA->KILO', 'KILO-%3EKILO', '%', '%E0%A4%A', '..', 'latency_downstream', 'timeout_both'), fc.string({ maxLength: 12 }).map(encodeURIComponent))
const path = fc.oneof(
  fc.constantFrom('/version', '/proxies', '/reset', '/populate', '/metrics', '/xcon/partition', '/xcon/links/toxics', '//', '/'),
  segment.map(p => `/proxies/${p}`),
  fc.tuple(segment, segment).map(([p, t]) => `/proxies/${p}/toxics/${t}`),
  segment.map(p => `/proxies/${p}/toxics`),
  segment.map(t => `/xcon/links/toxics/${t}`)
)
const request = fc.record({ method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'), path, body })

describe('the link API under hostile requests', () => {
  it('answers every request with a status, never a 500, keeps running, and a reset brings every link back', async () => {
    echo = createServer(s => { s.on('error', () => undefined); s.pipe(s) })
    await new Promise<void>(resolve => echo!.listen(0, '127.0.0.1', () => resolve()))
    const port = (echo.address() as { port: number }).port
    site = await SiteProxies.open(SERVERS, () => ({ host: '127.0.0.1', port }))
    api = await LinkApi.serve(site, () => undefined)
    const statuses = new Map<number, number>()
    for (const r of fc.sample(request, { numRuns: fuzzCount(2_000), seed: FUZZ_SEED + 7 })) {
      const res = await fetch(api.url + r.path, { method: r.method, ...(r.method === 'GET' || r.method === 'OPTIONS' ? {} : { body: r.body }) }).catch(() => undefined)
      statuses.set(res?.status ?? -1, (statuses.get(res?.status ?? -1) ?? 0) + 1)
      await res?.arrayBuffer()
    }
    expect([...statuses.keys()].filter(code => code >= 500 || code === -1)).toEqual([])
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0)
    expect((await fetch(`${api.url}/reset`, { method: 'POST' })).status).toBe(204)
    await site.settled()
    for (const p of site.all()) {
      const echoed = await new Promise<string>(resolve => {
        const s = connect(p.port, '127.0.0.1', () => s.write('ok'))
        s.on('data', d => { s.destroy(); resolve(d.toString()) })
        s.on('error', err => resolve(err.message))
      })
      expect(echoed).toBe('ok')
    }
  })
})
