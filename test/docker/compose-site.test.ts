import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { HistoryRecord } from '@xcon/core'
import { connect, createServer } from 'node:net'
import { DockerTestSite, ROOT, buildImage, dockerAvailable, freePort } from '../support/docker-harness.js'
import { XCON, countByMtsId, waitFor } from '../support/site-harness.js'

const run = promisify(execFile)

/** The first of `count` ports that are free now, one after another (xcon compose numbers them from the first). */
async function freePortRun (count: number): Promise<number> {
  for (;;) {
    const first = await freePort()
    if (first + count > 65000) continue
    const ok = await Promise.all(Array.from({ length: count }, async (_, i) => await new Promise<boolean>(resolve => {
      const s = createServer().once('error', () => resolve(false)).listen(first + i, '127.0.0.1', () => s.close(() => resolve(true)))
    })))
    if (ok.every(Boolean)) return first
  }
}

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
    // A run that died half-way leaves its project behind: remove it. Another project (the user's own site) may run beside it.
    await (await DockerTestSite.create('xcon-e2e', {})).destroy()
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
    // Metrics come with the published admin port: Prometheus on the host scrapes the containers (with the compose file's token).
    const metrics = await (await fetch(mtas.find(m => m.name === 'SRV-A').metricsUrl, { headers: { authorization: `Bearer ${process.env.XCON_ADMIN_TOKEN ?? 'xcon-admin'}` } })).text()
    expect(metrics).toContain('xcon_control_blocks_free{pool="site",server="SRV-A",site="CORP"} 0')
    // Without --docker, from a directory that holds a stopped local site: the running containers are chosen, and named.
    const elsewhere = mkdtempSync(join(tmpdir(), 'xcon-choose-'))
    try {
      const stale = join(elsewhere, '.xcon')
      mkdirSync(stale)
      writeFileSync(join(stale, 'site.json'), JSON.stringify({ dataDir: stale, topologyFile: '', supervisorPid: null, startedAt: '', servers: { 'SRV-A': { name: 'SRV-A', site: 'CORP', pid: null, port: 1, adminHost: '127.0.0.1', adminPort: 2, logFile: '' } } }))
      const { stdout } = await run(process.execPath, [XCON, 'status', '--file', resolve(ROOT, 'docker-compose.yml')], { cwd: elsewhere, env: { ...site.env, COMPOSE_PROJECT_NAME: 'xcon-e2e' }, timeout: 60_000 })
      const [first, , rowA] = stdout.split('\n')
      expect(first).toBe(`compose project xcon-e2e (${resolve(ROOT, 'docker-compose.yml')}) (3 of 4 running); there is also the local site under ${stale} (nothing running): --data ${stale} for that one`)
      expect(rowA).toMatch(/^SRV-A\s+CORP\s+2650\s+running/)
    } finally {
      rmSync(elsewhere, { recursive: true, force: true })
    }

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

  it('runs a scenario on containers of its own: a one-way black hole on the container network, a valid verdict, nothing left behind', async () => {
    const out = mkdtempSync(join(tmpdir(), 'xcon-docker-scenario-'))
    try {
      const { stdout } = await run(process.execPath, [XCON, 'scenario', 'run', resolve(ROOT, 'test/fixtures/one-way-partition.yaml'), '--backend', 'docker', '--out', out], { cwd: ROOT, timeout: 240_000 })
      const project = /^backend docker: 2 MTAs, compose project (xcon-one-way-partition-[0-9a-f]{6})$/m.exec(stdout)?.[1]
      expect(project).toBeDefined()
      expect(stdout).toMatch(/verdict: valid \(seed 11,/)
      const history = readFileSync(join(out, 'history.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as HistoryRecord)
      const cut = history.find(r => r.type === 'fault' && r.action === 'partition')!
      const join_ = history.find(r => r.type === 'fault' && r.action === 'join')!
      const failures = history.filter((r): r is Extract<HistoryRecord, { type: 'event' }> => r.type === 'event' && [9318, 2035].includes(r.eventId))
      // SRV-A's associations to SRV-B fall silent and time out inside the cut (SRV-B may see its end
      // of them go quiet too: inbound); the associations SRV-B opens to SRV-A never fail.
      expect(failures.some(r => r.server === 'SRV-A' && r.peer === 'SRV-B' && r.outcome === 'timeout' && r.t > cut.t && r.t < join_.t + 1000)).toBe(true)
      expect(failures.filter(r => r.server === 'SRV-B' && r.peer === 'SRV-A' && r.direction !== 'inbound')).toEqual([])
      expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toMatchObject({ verdict: 'valid', counts: { lost: 0, duplicated: 0 } })
      expect(readFileSync(join(out, 'logs', 'SRV-A.log'), 'utf8')).toContain('"eventId":9298')
      // The run removed its containers and network.
      expect(execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project!}`], { encoding: 'utf8' }).trim()).toBe('')
      expect(execFileSync('docker', ['network', 'ls', '-q', '--filter', `name=${project!}`], { encoding: 'utf8' }).trim()).toBe('')
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }, 300_000)

  it('says which image is missing instead of starting a scenario without it', async () => {
    const r = await run(process.execPath, [XCON, 'scenario', 'run', resolve(ROOT, 'test/fixtures/one-way-partition.yaml'), '--backend', 'docker', '--image', 'xcon:no-such-tag', '--out', join(tmpdir(), 'xcon-no-image')], { cwd: ROOT })
      .then(() => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => err)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/no image xcon:no-such-tag here; build it first with scripts\/build-image\.sh/)
  })

  it('shows the IMS at the port published to this host, where an SMTP client reaches it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-ims-'))
    const [adminPort, smtpPort] = [await freePortRun(5), await freePortRun(1)]
    await run(process.execPath, [XCON, 'compose', '--topology', resolve(ROOT, 'examples/two-sites.yaml'), '--out', dir, '--admin-port', String(adminPort), '--smtp-port', String(smtpPort)], { cwd: ROOT })
    const file = join(dir, 'docker-compose.yml')
    const project = 'xcon-e2e-ims'
    const args = (...more: string[]) => [XCON, ...more, '--docker', '--project', project, '--file', file]
    const env = { ...process.env, XCON_TRAFFIC: 'off' }
    try {
      await run(process.execPath, args('up', '-d'), { cwd: ROOT, env, timeout: 240_000 })
      const { stdout } = await run(process.execPath, args('status', '--json'), { cwd: ROOT, env })
      const srvB = (JSON.parse(stdout) as { mtas: Array<{ name: string, smtp?: { port: number | null } }> }).mtas.find(m => m.name === 'SRV-B')
      expect(srvB?.smtp?.port).toBe(smtpPort)
      expect((await run(process.execPath, args('status'), { cwd: ROOT, env })).stdout).toContain(`IMS:${smtpPort}`)
      // The port it names answers SMTP.
      const banner = await new Promise<string>((resolve, reject) => {
        const socket = connect(smtpPort, '127.0.0.1')
        socket.once('data', d => { resolve(d.toString()); socket.destroy() })
        socket.once('error', reject)
      })
      expect(banner).toMatch(/^220 /)
    } finally {
      await run(process.execPath, args('down', '--volumes'), { cwd: ROOT, env, timeout: 120_000 }).catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    }
  }, 360_000)

  it('accepts the generated two-site project (examples/two-sites) as a valid compose file', async () => {
    let compose = ['docker-compose']
    try { execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' }); compose = ['docker', 'compose'] } catch { /* v1 only */ }
    const file = resolve(ROOT, 'examples/two-sites/docker-compose.yml')
    const { stdout } = await run(compose[0]!, [...compose.slice(1), '-f', file, 'config', '--services'], { cwd: ROOT })
    expect(stdout.trim().split('\n').sort()).toEqual(['br-a', 'br-b', 'srv-a', 'srv-b', 'srv-c'])
  })
})
