import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MAX_HOPS, acceptInbound, copiesByHop, nonDeliveryReport, parseTopology, rerouteTarget, route, type Envelope } from '@xcon/core'

const t = parseTopology(readFileSync(resolve(import.meta.dirname, '../../examples/two-sites.yaml'), 'utf8'), 'two-sites.yaml')
const envelope = (recipients: string[], trace: Envelope['trace'] = []): Envelope =>
  ({ mtsId: 'c=US;a= ;p=XCON;l=SRV-B-1', originator: 'user1@SRV-B', recipients, priority: 'normal', submitTime: 0, subject: 'hello', kind: 'message', trace })

describe('routing decisions', () => {
  it('makes one copy per next-hop queue, each with its own recipients', () => {
    const r = route(t, 'SRV-B', ['user1@SRV-A', 'user2@SRV-C', 'user3@SRV-A'])
    expect(copiesByHop(envelope(['user1@SRV-A', 'user2@SRV-C', 'user3@SRV-A']), r).map(c => [c.queue, c.envelope.recipients]))
      .toEqual([['server:SRV-A', ['user1@SRV-A', 'user3@SRV-A']], ['server:SRV-C', ['user2@SRV-C']]])
  })

  it('takes a transfer with this hop added to its trace, and refuses loops, long traces and unroutable mail', () => {
    const here = { server: 'SRV-A', site: 'CORP' }
    const ok = acceptInbound(envelope(['user1@SRV-A']), here, route(t, 'SRV-A', ['user1@SRV-A']), 5)
    expect(ok).toMatchObject({ ok: true, arrived: { trace: [{ server: 'SRV-A', site: 'CORP', arrived: 5 }] } })
    expect(acceptInbound(envelope(['user1@SRV-A'], [{ server: 'SRV-A', site: 'CORP', arrived: 1 }]), here, route(t, 'SRV-A', ['user1@SRV-A']), 5))
      .toMatchObject({ ok: false, code: 'XCON_ERR_LOOP_DETECTED' })
    const long = Array.from({ length: MAX_HOPS }, (_, i) => ({ server: `X${i}`, site: 'CORP', arrived: i }))
    expect(acceptInbound(envelope(['user1@SRV-A'], long), here, route(t, 'SRV-A', ['user1@SRV-A']), 5)).toMatchObject({ ok: false, code: 'XCON_ERR_LOOP_DETECTED' })
    expect(acceptInbound(envelope(['x']), here, new Error('invalid address "x"'), 5)).toEqual({ ok: false, code: 'XCON_ERR_INVALID_ADDRESS', text: 'invalid address "x"' })
  })

  it('moves waiting mail only when all of it takes one other queue', () => {
    expect(rerouteTarget(route(t, 'SRV-B', ['user1@BR-B'], undefined, s => s === 'SRV-A'), 'server:SRV-A')).toBe('connector:CORP-BRANCH-SITE')
    expect(rerouteTarget(route(t, 'SRV-B', ['user1@SRV-A'], undefined, s => s === 'SRV-A'), 'server:SRV-A')).toBeUndefined()
    expect(rerouteTarget(route(t, 'SRV-B', ['user1@BR-B', 'user1@SRV-B'], undefined, s => s === 'SRV-A'), 'server:SRV-A')).toBeUndefined()
  })

  it('writes the non-delivery report for the originator, and none for a report', () => {
    const report = nonDeliveryReport(envelope(['user9@SRV-C']), 'unable-to-transfer', 'maximum-time-expired')
    expect(report).toMatchObject({ to: 'user1@SRV-B', subject: 'Undeliverable: hello' })
    expect(report!.text).toContain('  user9@SRV-C (reason unable-to-transfer, diagnostic maximum-time-expired, MTS-ID c=US;a= ;p=XCON;l=SRV-B-1)')
    expect(nonDeliveryReport({ ...envelope(['user1@SRV-B']), kind: 'report' }, 'unable-to-transfer', 'x')).toBeUndefined()
  })
})
