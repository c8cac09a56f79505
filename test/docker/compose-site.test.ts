import { execFileSync } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DockerTestSite, buildImage, dockerAvailable } from '../support/docker-harness.js'
import { countByMtsId, waitFor } from '../support/site-harness.js'

/**
 * The compose site on a real Docker engine: mail flows between containers, `docker kill` of one
 * container makes a pre-SP4 MTA leak until it cannot reach a healthy peer (9156), restarting
 * that MTA's container recovers every message exactly once, and SP4 survives the same kill.
 */
const docker = dockerAvailable()
if (!docker.ok) {
  process.stderr.write(`\n*** SKIPPING the Docker end-to-end test: ${docker.why}. Install Docker (apt-get install docker.io docker-compose) and start dockerd to run it. ***\n\n`)
}

describe.skipIf(!docker.ok)('docker compose site', () => {
  let site: DockerTestSite | undefined

  beforeAll(async () => {
    // A run that died half-way leaves its project behind: remove it, then make sure no other site holds the names.
    await (await DockerTestSite.create('xcon-e2e', {})).destroy()
    const clash = execFileSync('docker', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' }).split('\n').filter(n => /^srv-[a-d]$/.test(n))
    if (clash.length > 0) throw new Error(`containers ${clash.join(', ')} already exist (a compose site is up): "xcon down --docker" first`)
    process.stderr.write(`${await buildImage()}\n`)
  }, 600_000)

  afterEach(async () => { await site?.destroy(); site = undefined }, 120_000)
  afterAll(async () => { await site?.destroy() }, 120_000)

  // Six control blocks (five usable) and probability 1 keep the run short; no generated traffic.
  const env = { XCON_TRAFFIC: 'off', XCON_CONTROL_BLOCKS: '6', XCON_LEAK_PROBABILITY: '1' }

  it('reproduces Q260167 on build 2650 when a container is killed, and recovers with a restart', async () => {
    site = await DockerTestSite.create('xcon-e2e', { ...env, XCON_BUILD: '2650' })
    await site.xcon('up', '-d')
    const before = await site.send('SRV-A', 'user1@SRV-B', 3)
    await waitFor('mail between containers', async () => (await site!.deliveries('SRV-B')).length === 3, 30_000)

    await site.xcon('kill', 'SRV-C')
    const toC = await site.send('SRV-A', 'user1@SRV-C', 3)
    await waitFor('SRV-A to lose every control block', async () => (await site!.status('SRV-A')).controlBlocks.leaked === 5, 60_000)
    const during = await site.send('SRV-A', 'user1@SRV-B', 5)
    await waitFor('9156 for the healthy SRV-B in the logs', async () => (await site!.logs('SRV-A', 9156)).some(r => r.peer === 'SRV-B'), 30_000)
    await waitFor('two failed opens to SRV-B', async () => (await site!.status('SRV-A')).queues.find((q: any) => q.peer === 'SRV-B').failedOpens >= 2, 30_000)
    expect((await site.status('SRV-B')).state).toBe('running')
    expect(await site.deliveries('SRV-B')).toHaveLength(3)
    const { mtas } = JSON.parse(await site.xcon('status', '--json')) as { mtas: any[] }
    expect(mtas.find(m => m.name === 'SRV-A')).toMatchObject({ controlBlocks: { free: 0, leaked: 5, exhausted: true } })
    expect(mtas.find(m => m.name === 'SRV-C')).toMatchObject({ state: 'down' })

    await site.xcon('start', 'SRV-C')
    await site.xcon('restart', 'SRV-A')
    await waitFor('SRV-A queues to drain', async () => (await site!.status('SRV-A')).queues.every((q: any) => q.depth === 0), 60_000)
    const onB = countByMtsId(await site.deliveries('SRV-B'))
    const onC = countByMtsId(await site.deliveries('SRV-C'))
    expect([...before, ...during].map(id => onB.get(id))).toEqual(Array(8).fill(1))
    expect(toC.map(id => onC.get(id))).toEqual([1, 1, 1])
    expect(onB.size + onC.size).toBe(11)
    expect((await site.logs('SRV-A', 9299)).length).toBe(1)
  }, 300_000)

  it('survives the same kill on build 2653 (SP4) with no stop', async () => {
    site = await DockerTestSite.create('xcon-e2e', { ...env, XCON_BUILD: '2653' })
    await site.xcon('up', '-d')
    await site.xcon('kill', 'SRV-C')
    const toC = await site.send('SRV-A', 'user1@SRV-C', 3)
    await waitFor('ten failed opens to SRV-C', async () => (await site!.status('SRV-A')).queues.find((q: any) => q.peer === 'SRV-C').failedOpens >= 10, 60_000)
    const ids = await site.send('SRV-A', 'user1@SRV-B', 5)
    await waitFor('five on SRV-B', async () => (await site!.deliveries('SRV-B')).length === 5, 30_000)
    expect((await site.status('SRV-A')).controlBlocks.leaked).toBe(0)
    expect(await site.logs('SRV-A', 9156)).toHaveLength(0)
    expect(countByMtsId(await site.deliveries('SRV-B'))).toEqual(new Map(ids.map(id => [id, 1])))
    await site.xcon('start', 'SRV-C')
    await waitFor('SRV-C to get its mail without any restart of SRV-A', async () => (await site!.deliveries('SRV-C')).length === 3, 30_000)
    expect(countByMtsId(await site.deliveries('SRV-C'))).toEqual(new Map(toC.map(id => [id, 1])))
  }, 300_000)

  it('partitions a container into a black hole and heals it', async () => {
    site = await DockerTestSite.create('xcon-e2e', { ...env, XCON_BUILD: '2653' })
    await site.xcon('up', '-d')
    expect(await site.xcon('partition', 'SRV-B')).toMatch(/^SRV-B cut off from SRV-A, SRV-C, SRV-D \(packets dropped: a black hole\)/)
    const ids = await site.send('SRV-A', 'user1@SRV-B', 2)
    const failed = await waitFor('a timed-out open to SRV-B', async () => (await site!.logs('SRV-A', 9318)).find(r => r.peer === 'SRV-B'), 30_000)
    expect(failed.outcome).toBe('timeout')
    expect(await site.xcon('heal')).toMatch(/^healed SRV-A, SRV-B, SRV-C, SRV-D/)
    await waitFor('the two after the heal', async () => (await site!.deliveries('SRV-B')).length === 2, 60_000)
    expect(countByMtsId(await site.deliveries('SRV-B'))).toEqual(new Map(ids.map(id => [id, 1])))
  }, 300_000)
})
