import { describe, expect, it } from 'vitest'
import { DEFAULT_TOPOLOGY_YAML, TopologyError, classifyAddress, parseTopology, resolveMtaConfig, route, serializeTopology, InvalidConfigError, UnknownServerError } from '@xcon/core'

const ISSUE_EXAMPLE = `sites:
  CORP:
    secret: change-me
    servers: [SRV-A, SRV-B, SRV-C]
defaults: { build: 2650, timeScale: 600, controlBlocks: 8, traffic: off }
servers:
  SRV-C: { build: 2653 }
`

function problem (text: string): TopologyError {
  try { parseTopology(text, 'site.yaml') } catch (err) { return err as TopologyError }
  throw new Error('expected a TopologyError')
}

describe('topology', () => {
  it('reads the example of the README', () => {
    const t = parseTopology(ISSUE_EXAMPLE, 'site.yaml')
    expect(t.sites.CORP!.servers).toEqual(['SRV-A', 'SRV-B', 'SRV-C'])
    expect(t.servers['SRV-A']).toMatchObject({ build: 2650, timeScale: 600, controlBlocks: 8, traffic: { rate: 0 }, site: 'CORP' })
    expect(t.servers['SRV-C']!.build).toBe(2653)
  })

  it('reads the default site: four servers, the last on SP4, light traffic', () => {
    const t = parseTopology(DEFAULT_TOPOLOGY_YAML, 'default')
    expect(Object.values(t.servers).map(s => [s.name, s.build, s.traffic.rate])).toEqual([['SRV-A', 2650, 0.5], ['SRV-B', 2650, 0.5], ['SRV-C', 2650, 0.5], ['SRV-D', 2653, 0.5]])
  })

  it('reads back what it writes', () => {
    const t = parseTopology(ISSUE_EXAMPLE, 'site.yaml')
    expect(parseTopology(JSON.stringify(serializeTopology(t)), 'resolved.json')).toEqual(t)
  })

  it('names the file and line of a YAML syntax error', () => {
    const err = problem('sites:\n  CORP:\n    secret: x\n   servers: [A]\n')
    expect(err.code).toBe('XCON_ERR_TOPOLOGY')
    expect(err.message).toMatch(/^site.yaml:4: /)
  })

  it('names the line of an unknown key, and the keys it knows', () => {
    const err = problem('sites:\n  CORP:\n    secret: x\n    sevrers: [SRV-A]\n')
    expect(err.message).toBe('site.yaml:4: sites.CORP.sevrers: unknown key; expected one of secret, servers')
  })

  it('names the line of a bad build in the defaults', () => {
    const err = problem(ISSUE_EXAMPLE.replace('build: 2650', 'build: 2700'))
    expect(err.line).toBe(5)
    expect(err.message).toMatch(/^site.yaml:5: defaults.build: unknown Exchange 5.5 build "2700"/)
  })

  it('refuses a server in two sites, an override for an unknown server, and too few control blocks', () => {
    expect(problem('sites:\n  A:\n    secret: x\n    servers: [S1]\n  B:\n    secret: y\n    servers: [S1]\n').message)
      .toBe('site.yaml:7: sites.B.servers[0]: server S1 is already in site A')
    expect(problem(`${ISSUE_EXAMPLE}  SRV-X: { build: 2650 }\n`).message).toBe('site.yaml:8: servers.SRV-X: server SRV-X is not listed in any site (names are case-sensitive)')
    expect(problem(ISSUE_EXAMPLE.replace('controlBlocks: 8', 'controlBlocks: 1')).message).toMatch(/^site.yaml:5: defaults.controlBlocks: control blocks must be from 2 to 1210/)
  })

  it('refuses a missing secret and a server name longer than NetBIOS allows', () => {
    expect(problem('sites:\n  CORP:\n    servers: [SRV-A]\n').message).toBe('site.yaml:2: sites.CORP.secret: is missing')
    expect(problem('sites:\n  CORP:\n    secret: x\n    servers: [A-VERY-LONG-SERVER-NAME]\n').message).toMatch(/^site.yaml:4: sites.CORP.servers\[0\]: "A-VERY-LONG-SERVER-NAME" is not a server name/)
  })
})

describe('names from the network', () => {
  it('find nothing when they are a property of every object: constructor, __proto__, toString', () => {
    // An upgrade to /xcon/connector/constructor once ended the MTA: the connector map had a prototype.
    const t = parseTopology(DEFAULT_TOPOLOGY_YAML, 'default')
    for (const name of [...Object.getOwnPropertyNames(Object.prototype), '__proto__']) {
      expect(t.servers[name]).toBeUndefined()
      expect(t.sites[name]).toBeUndefined()
      expect(t.connectors[name]).toBeUndefined()
      expect(() => classifyAddress(t, `user1@${name}`)).not.toThrow(TypeError)
      expect(() => route(t, 'SRV-A', [`user1@${name}`])).not.toThrow(TypeError)
    }
  })
})

describe('MTA configuration', () => {
  const t = parseTopology(ISSUE_EXAMPLE, 'site.yaml')

  it('lets XCON_* variables override the topology', () => {
    const c = resolveMtaConfig(t, 'SRV-A', { XCON_BUILD: 'sp4', XCON_CONTROL_BLOCKS: '12', XCON_TRAFFIC: 'heavy', XCON_LEAK_KINDS: 'refused,timeout' })
    expect(c.server).toMatchObject({ build: 2653, controlBlocks: 12 })
    expect(c.server.traffic.rate).toBe(50)
    expect(c.leakPolicy).toEqual({ leaks: false, kinds: ['refused', 'timeout'], probability: 0.5 })
    expect(c.peers.map(p => p.name)).toEqual(['SRV-B', 'SRV-C'])
    expect(c.retry.openIntervalMs).toBe(1000)
  })

  it('names the variable that is wrong', () => {
    expect(() => resolveMtaConfig(t, 'SRV-A', { XCON_CONTROL_BLOCKS: 'many' })).toThrow(InvalidConfigError)
    expect(() => resolveMtaConfig(t, 'SRV-A', { XCON_CONTROL_BLOCKS: 'many' })).toThrow('XCON_CONTROL_BLOCKS: expected a whole number from 2 to 1210, got "many"')
    expect(() => resolveMtaConfig(t, 'SRV-A', { XCON_LEAK_KINDS: 'refused,lost' })).toThrow('XCON_LEAK_KINDS: unknown failure kind "lost"')
  })

  it('refuses an unknown server and lists the site', () => {
    expect(() => resolveMtaConfig(t, 'SRV-Z')).toThrow(UnknownServerError)
    expect(() => resolveMtaConfig(t, 'SRV-Z')).toThrow('unknown MTA "SRV-Z": the site has SRV-A, SRV-B, SRV-C')
  })

  it('gives each server its own default leak seed, the same on every run', () => {
    const a = resolveMtaConfig(t, 'SRV-A').leakSeed
    expect(resolveMtaConfig(t, 'SRV-A').leakSeed).toBe(a)
    expect(resolveMtaConfig(t, 'SRV-B').leakSeed).not.toBe(a)
  })
})
