import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { FUZZ_SEED, fuzzCount } from '../support/fuzz-inputs.js'
import { TestSite, closeAllSites, siteYaml } from '../support/site-harness.js'

afterEach(closeAllSites)

const SITE = siteYaml(['SRV-A', 'SRV-B'], 'build: 2653, timeScale: 600, controlBlocks: 20, traffic: off')

const field = fc.oneof(
  fc.string({ maxLength: 30 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.constantFrom('user1@SRV-B', 'user1@SRV-A', 'ceo', 'user2', 'nobody@nowhere', 'x@SRV-Z', 'urgent', 'high', '1e9', '-1', '200001'),
  fc.array(fc.constantFrom('user1@SRV-B', 'bad', ''), { maxLength: 4 })
)
const submitBody = fc.record({ from: field, to: field, count: fc.oneof(field, fc.integer({ min: 1, max: 3 })), subject: field, body: field, priority: field }, { requiredKeys: [] })
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
  path: fc.oneof(fc.constantFrom('/submit', '/status', '/health', '/deliveries?after=-5', '/deliveries?after=1e400', '//', '/%', '/submit?x=%'), fc.string({ maxLength: 30 }).map(s => `/${s}`)),
  type: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8', ''),
  body: fc.oneof(submitBody.map(b => JSON.stringify(b)), fc.constantFrom('null', '[]', '"x"', '{', '', '{"to":"user1@SRV-B","count":1e9}'), fc.string({ maxLength: 80 }))
})

describe('the admin API under hostile requests', () => {
  it('answers every request with a status and an error body, never a 500, and keeps running', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-A'] })
    const s = t.site.server('SRV-A')
    const base = `http://${s.adminHost}:${s.adminPort}`
    const statuses = new Map<number, number>()
    for (const r of fc.sample(request, { numRuns: fuzzCount(3_000), seed: FUZZ_SEED + 2 })) {
      const res = await fetch(base + r.path, {
        method: r.method,
        ...(r.method === 'GET' || r.method === 'OPTIONS' ? {} : { body: r.body }),
        headers: r.type === '' ? {} : { 'content-type': r.type }
      }).catch(() => undefined)
      const status = res?.status ?? -1
      await res?.arrayBuffer()
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
    }
    expect([...statuses.keys()].filter(code => code >= 500 && code !== 503)).toEqual([])
    expect(statuses.get(-1) ?? 0).toBe(0)
    expect((await t.status('SRV-A')).state).toBe('running')
  })

  it('refuses text/plain (cross-site forms), null, and an oversized body with the right status', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-A'] })
    const s = t.site.server('SRV-A')
    const post = async (body: string | Buffer, type = 'application/json'): Promise<{ status: number, body: any }> => {
      const res = await fetch(`http://${s.adminHost}:${s.adminPort}/submit`, { method: 'POST', body, headers: { 'content-type': type } })
      return { status: res.status, body: await res.json() }
    }
    expect(await post('{"to":"user1@SRV-B"}', 'text/plain')).toMatchObject({ status: 415, body: { error: { code: 'XCON_ERR_BAD_REQUEST' } } })
    expect(await post('null')).toMatchObject({ status: 400 })
    expect((await post(Buffer.alloc(50 * 1024 * 1024, 0x20))).status).toBe(413)
    expect(await post(JSON.stringify({ to: 'user1@SRV-B', body: 'x'.repeat(5 * 1024 * 1024) }))).toMatchObject({ status: 413, body: { error: { code: 'XCON_ERR_MESSAGE_TOO_LARGE' } } })
    expect(await post(JSON.stringify({ to: 'user1@SRV-B', from: 'ceo' }))).toMatchObject({ status: 400, body: { error: { code: 'XCON_ERR_INVALID_ADDRESS' } } })
    expect(await post(JSON.stringify({ to: 'user1@SRV-B', count: 1000, body: 'x'.repeat(1024 * 1024) }))).toMatchObject({ status: 400 })
    expect((await t.status('SRV-A')).state).toBe('running')
  })

  it('asks for the admin token when one is set, except on /health', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-A'], env: { 'SRV-A': { XCON_ADMIN_TOKEN: 's3cret' } } })
    const s = t.site.server('SRV-A')
    const base = `http://${s.adminHost}:${s.adminPort}`
    expect((await fetch(`${base}/health`)).status).toBe(200)
    const denied = await fetch(`${base}/status`)
    expect(denied.status).toBe(401)
    expect(((await denied.json()) as any).error.code).toBe('XCON_ERR_UNAUTHORIZED')
    expect((await fetch(`${base}/status`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    expect((await fetch(`${base}/status`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200)
  })
})
