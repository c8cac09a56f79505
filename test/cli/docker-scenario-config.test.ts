import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cutLinks, parseScenario, parseTopology, serializeTopology } from '@xcon/core'
import { linkRules } from '../../packages/cli/src/scenario/link-rules.js'
import { composeFile, containerTopology } from '../../packages/cli/src/site/docker/compose-file.js'
import { stackFile } from '../../packages/cli/src/site/docker/stack-file.js'

const q260167 = (): ReturnType<typeof parseScenario> => parseScenario(readFileSync(resolve(import.meta.dirname, '../../scenarios/q260167.yaml'), 'utf8'), 'q260167.yaml', () => '')

describe('the compose project of a docker scenario', () => {
  it('has one service per server of any topology, two sites and a connector included, publishing only the admin API on loopback', () => {
    const { topology } = q260167()
    const compose = composeFile(topology, { image: 'xcon:latest', topologyFile: '/runs/x/container-topology.json', adminPorts: { 'SRV-A': 41001, 'SRV-B': 41002, 'SRV-C': 41003, 'SRV-D': 41004, 'BR-A': 41005, 'BR-B': 41006 } })
    const services = compose.services as Record<string, any>
    expect(Object.keys(services)).toEqual(['srv-a', 'srv-b', 'srv-c', 'srv-d', 'br-a', 'br-b'])
    expect(services['br-a']).toMatchObject({
      image: 'xcon:latest',
      init: true,
      environment: { XCON_SERVER: 'BR-A', XCON_TOPOLOGY: '/etc/xcon/topology.json' },
      labels: { 'xcon.server': 'BR-A', 'xcon.site': 'BRANCH' },
      volumes: ['/runs/x/container-topology.json:/etc/xcon/topology.json:ro'],
      ports: ['127.0.0.1:41005:7100']
    })
    expect(services['srv-a']).not.toHaveProperty('restart') // a killed MTA stays down until the schedule starts it
    expect(services['srv-a']).not.toHaveProperty('container_name') // the project name keeps runs apart
  })

  it('points every server at its peers by service name on the container ports, and the MTA reads it back', () => {
    const { topology } = q260167()
    const text = JSON.stringify(serializeTopology(containerTopology(topology)))
    const back = parseTopology(text, 'container-topology.json')
    expect(back.servers['BR-B']).toMatchObject({ host: 'br-b', port: 7000, adminHost: '0.0.0.0', adminPort: 7100, build: 2653 })
    expect(back.servers['SRV-A']).toMatchObject({ host: 'srv-a', build: 2650 })
    expect(back.connectors['CORP-BRANCH-X400']).toMatchObject({ bridgeheads: { CORP: ['SRV-A'], BRANCH: ['BR-A'] } })
    expect(topology.servers['SRV-A']!.host).not.toBe('srv-a') // the scenario's own topology is left alone
  })
})

describe('the stack file of a scenario on a swarm', () => {
  it('places each server by its node label, hands the topology to every node as a config, keeps each store in a volume, and publishes nothing', () => {
    const { topology } = q260167()
    const stack = stackFile(topology, { image: 'xcon:latest', topologyFile: '/runs/x/container-topology.json', placement: { 'SRV-A': '1', 'SRV-C': '2' } })
    const services = stack.services as Record<string, any>
    expect(services['srv-a']).toMatchObject({
      environment: { XCON_SERVER: 'SRV-A', XCON_TOPOLOGY: '/etc/xcon/topology.json' },
      labels: { 'xcon.server': 'SRV-A', 'xcon.site': 'CORP' },
      volumes: ['srv-a-data:/data'],
      configs: [{ source: 'topology', target: '/etc/xcon/topology.json' }],
      // Swarm's default restart policy would end every outage within seconds.
      deploy: { restart_policy: { condition: 'none' }, placement: { constraints: ['node.labels.xcon.node == 1'] } }
    })
    expect(services['srv-c'].deploy.placement.constraints).toEqual(['node.labels.xcon.node == 2'])
    expect(services['srv-b'].deploy).toEqual({ restart_policy: { condition: 'none' } }) // not in nodes: anywhere
    expect(Object.values(services).every(s => s.ports === undefined)).toBe(true)
    expect(stack.configs).toEqual({ topology: { file: '/runs/x/container-topology.json' } })
    expect(Object.keys(stack.volumes as object)).toEqual(['srv-a-data', 'srv-b-data', 'srv-c-data', 'srv-d-data', 'br-a-data', 'br-b-data'])
  })
})

describe('packet filters for cut links', () => {
  const ips = { 'SRV-A': '172.20.0.2', 'SRV-B': '172.20.0.3', 'SRV-C': '172.20.0.4' }

  it('cuts a one-way link at both ends, matching only associations opened from the first group', () => {
    const links = cutLinks({ at: 0, action: 'partition', targets: ['SRV-A', 'SRV-B'], groups: [['SRV-A'], ['SRV-B']], oneWay: true, source: 'f' })
    expect(links).toEqual([['SRV-A', 'SRV-B']])
    const cuts = links.map(([from, to]) => ({ from, to, mode: 'blackhole' as const }))
    expect(linkRules('SRV-A', cuts, ips, 7000)).toEqual([
      ['-p', 'tcp', '-d', '172.20.0.3', '--dport', '7000', '-j', 'DROP'],
      ['-p', 'tcp', '-s', '172.20.0.3', '--sport', '7000', '-j', 'DROP']
    ])
    expect(linkRules('SRV-B', cuts, ips, 7000)).toEqual([
      ['-p', 'tcp', '-s', '172.20.0.2', '--dport', '7000', '-j', 'DROP'],
      ['-p', 'tcp', '-d', '172.20.0.2', '--sport', '7000', '-j', 'DROP']
    ])
    expect(linkRules('SRV-C', cuts, ips, 7000)).toEqual([])
  })

  it('refuses with a TCP reset, and skips a peer whose container has no address (down)', () => {
    const links = cutLinks({ at: 0, action: 'partition', targets: ['SRV-A', 'SRV-B', 'SRV-C'], groups: [['SRV-A'], ['SRV-B', 'SRV-C']], source: 'f' })
    expect(links).toEqual([['SRV-A', 'SRV-B'], ['SRV-A', 'SRV-C'], ['SRV-B', 'SRV-A'], ['SRV-C', 'SRV-A']])
    const rules = linkRules('SRV-A', links.map(([from, to]) => ({ from, to, mode: 'refuse' as const })), { 'SRV-A': ips['SRV-A'], 'SRV-B': ips['SRV-B'] }, 7000)
    expect(rules).toHaveLength(4) // both directions with SRV-B; none with the addressless SRV-C
    for (const r of rules) expect(r.slice(-4)).toEqual(['-j', 'REJECT', '--reject-with', 'tcp-reset'])
  })
})

describe('xcon compose', () => {
  it('writes the checked-in two-site project again from examples/two-sites.yaml (they never drift apart)', async () => {
    const { writeComposeProject } = await import('../../packages/cli/src/commands/compose.js')
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const dir = mkdtempSync(resolve(tmpdir(), 'xcon-compose-'))
    try {
      const root = resolve(import.meta.dirname, '../..')
      writeComposeProject({ topologyFile: resolve(root, 'examples/two-sites.yaml'), outDir: dir, image: 'xcon:latest', adminPort: 7201, smtpPort: 2601 })
      const body = (f: string): string => readFileSync(f, 'utf8').replace(/^#.*\n/gm, '') // the header names paths
      expect(body(resolve(dir, 'docker-compose.yml'))).toBe(body(resolve(root, 'examples/two-sites/docker-compose.yml')))
      expect(readFileSync(resolve(dir, 'topology.json'), 'utf8')).toBe(readFileSync(resolve(root, 'examples/two-sites/topology.json'), 'utf8'))
      expect(readFileSync(resolve(dir, 'docker-compose.yml'), 'utf8')).toContain('SRV-B admin 7202, SMTP 2601')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('names a broken topology file and a bad port', async () => {
    const { writeComposeProject } = await import('../../packages/cli/src/commands/compose.js')
    expect(() => writeComposeProject({ topologyFile: '/nonexistent.yaml', outDir: '/tmp', image: 'i', adminPort: 7201, smtpPort: 2601 })).toThrow('topology file not found: /nonexistent.yaml')
    expect(() => writeComposeProject({ topologyFile: '/nonexistent.yaml', outDir: '/tmp', image: 'i', adminPort: 80, smtpPort: 2601 })).toThrow('--admin-port: expected a port from 1024 to 65000, got 80')
  })
})
