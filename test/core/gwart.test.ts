import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { classifyAddress, connectorRoutes, parseTopology, route, TopologyError } from '@xcon/core'

const TWO_SITES = readFileSync(resolve(import.meta.dirname, '../../examples/two-sites.yaml'), 'utf8')
const t = parseTopology(TWO_SITES, 'two-sites.yaml')
const hops = (from: string, to: string, down?: (c: string) => boolean) => [...route(t, from, [to], down).hops.keys()]

describe('routing table (GWART)', () => {
  it('reads the two-site example: connectors with bridgeheads, a Site Connector over every server, an IMS', () => {
    expect(t.connectors['CORP-BRANCH-X400']).toMatchObject({ type: 'x400', sites: ['CORP', 'BRANCH'], bridgeheads: { CORP: ['SRV-A'], BRANCH: ['BR-A'] }, cost: 1 })
    expect(t.connectors['CORP-BRANCH-SITE']!.bridgeheads).toEqual({ CORP: ['SRV-A', 'SRV-B', 'SRV-C'], BRANCH: ['BR-A', 'BR-B'] })
    expect(t.servers['SRV-B']!.ims).toEqual({ host: '127.0.0.1', port: undefined, smartHost: '127.0.0.1:2526' })
  })

  it('delivers locally, goes direct within a site, and crosses sites over the cheapest connector', () => {
    expect(route(t, 'SRV-A', ['user1@SRV-A']).local).toEqual(['user1'])
    expect(hops('SRV-A', 'user1@SRV-C')).toEqual(['server:SRV-C'])
    expect(hops('SRV-A', 'user1@BR-B')).toEqual(['connector:CORP-BRANCH-X400'])
    // Not a bridgehead of the cheapest connector: hand the mail to one inside the site.
    expect(hops('SRV-C', 'user1@BR-B')).toEqual(['server:SRV-A'])
    expect(hops('BR-B', 'user1@SRV-C')).toEqual(['server:BR-A'])
  })

  it('falls back to the next connector while the cheapest is down', () => {
    expect(hops('SRV-A', 'user1@BR-B', c => c === 'CORP-BRANCH-X400')).toEqual(['connector:CORP-BRANCH-SITE'])
    expect(connectorRoutes(t, 'CORP', 'BRANCH').map(c => c.name)).toEqual(['CORP-BRANCH-X400', 'CORP-BRANCH-SITE'])
    expect(connectorRoutes(t, 'CORP', 'BRANCH', () => true).map(c => c.name)).toEqual(['CORP-BRANCH-X400', 'CORP-BRANCH-SITE'])
  })

  it('reroutes around a bridgehead this server cannot reach, over a connector it can use itself', () => {
    const srvADown = (s: string): boolean => s === 'SRV-A'
    // SRV-B is no bridgehead of the X.400 Connector, but every server is one of the Site Connector.
    expect([...route(t, 'SRV-B', ['user1@BR-B'], undefined, srvADown).hops.keys()]).toEqual(['connector:CORP-BRANCH-SITE'])
    // Mail for the bridgehead itself still waits for it: there is no other way to SRV-A.
    expect([...route(t, 'SRV-B', ['user1@SRV-A'], undefined, srvADown).hops.keys()]).toEqual(['server:SRV-A'])
    // Every route failing: the cheapest is kept, to wait for its next open retry.
    expect([...route(t, 'SRV-B', ['user1@BR-B'], c => c === 'CORP-BRANCH-SITE', srvADown).hops.keys()]).toEqual(['server:SRV-A'])
  })

  it('sends Internet mail to the nearest Internet Mail Service', () => {
    expect(hops('SRV-C', 'bob@example.net')).toEqual(['server:SRV-B'])
    expect(hops('SRV-B', 'bob@example.net')).toEqual(['ims'])
    expect(hops('BR-A', 'bob@example.net')).toEqual(['connector:CORP-BRANCH-X400'])
  })

  it('groups recipients by next hop, one copy each', () => {
    const r = route(t, 'SRV-C', ['a@BR-A', 'b@BR-B', 'c@SRV-A', 'd@SRV-C'])
    expect(r.local).toEqual(['d'])
    expect([...r.hops].map(([k, v]) => [k, v.recipients])).toEqual([['server:SRV-A', ['a@BR-A', 'b@BR-B', 'c@SRV-A']]])
  })

  it('reads SMTP addresses of mailboxes and tells Internet addresses apart', () => {
    expect(classifyAddress(t, 'User1@srv-c.xcon.test')).toEqual({ kind: 'internal', alias: 'user1', server: 'SRV-C', canonical: 'user1@SRV-C' })
    expect(classifyAddress(t, 'bob@Example.NET')).toEqual({ kind: 'external', canonical: 'bob@example.net' })
    expect(() => classifyAddress(t, 'user1@SRV-Q')).toThrow('invalid address "user1@SRV-Q": no server SRV-Q in the organisation')
  })

  it('names the line of a connector mistake', () => {
    const bad = TWO_SITES.replace('bridgeheads: { CORP: SRV-A, BRANCH: BR-A }', 'bridgeheads: { CORP: SRV-A, BRANCH: SRV-B }')
    expect(() => parseTopology(bad, 'two.yaml')).toThrow(TopologyError)
    expect(() => parseTopology(bad, 'two.yaml')).toThrow(/^two.yaml:18: connectors.CORP-BRANCH-X400.bridgeheads.BRANCH: "SRV-B" is not a server of site BRANCH$/)
    expect(() => parseTopology(TWO_SITES.replace('    bridgeheads: { CORP: SRV-A, BRANCH: BR-A }\n', ''), 'two.yaml')).toThrow(/connectors.CORP-BRANCH-X400.bridgeheads: an X.400 connector names its bridgehead in site CORP/)
  })
})
