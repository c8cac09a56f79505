import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '@xcon/cli'
import { TestSite, closeAllSites, siteYaml, waitFor } from '../support/site-harness.js'

const MONITORING = resolve(import.meta.dirname, '../../examples/monitoring')
const has = (tool: string): boolean => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0
const promtool = has('promtool')
const prometheus = has('prometheus')
// CI installs Debian's prometheus package (.ci/run); without it these say so once, loudly.
if (!promtool || !prometheus) process.stderr.write('*** promtool or prometheus not installed: the Prometheus checks are skipped (apt-get install prometheus) ***\n')

const children: ChildProcess[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
  await closeAllSites()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const SITE = siteYaml(['SRV-A', 'SRV-B', 'SRV-C'], 'build: 2653, timeScale: 600, controlBlocks: 8, traffic: off') + 'servers:\n  SRV-A: { build: 2650 }\n'

describe('metrics for Prometheus', () => {
  it('serves GET /metrics with the documented series on every MTA, listed by status --json and the targets file', async () => {
    const t = await TestSite.start(SITE)
    const status = JSON.parse(await t.xcon('status', '--json')) as { mtas: Array<{ name: string, metricsUrl: string }> }
    const targets = JSON.parse(readFileSync(join(t.site.dataDir, 'prometheus-targets.json'), 'utf8')) as Array<{ targets: string[] }>
    expect(targets.flatMap(g => g.targets).sort()).toEqual(status.mtas.map(m => new URL(m.metricsUrl).host).sort())
    const a = status.mtas.find(m => m.name === 'SRV-A')!
    const res = await fetch(a.metricsUrl)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const body = await res.text()
    for (const line of [
      'xcon_mta_info{build="2650",service_pack="SP3",server="SRV-A",site="CORP"} 1',
      'xcon_mta_up{server="SRV-A",site="CORP"} 1',
      'xcon_control_blocks_capacity{pool="site",server="SRV-A",site="CORP"} 8',
      'xcon_control_blocks_free{pool="site",server="SRV-A",site="CORP"} 7',
      'xcon_control_blocks_leaked{pool="site",server="SRV-A",site="CORP"} 0',
      'xcon_queue_depth{peer="SRV-B",channel="site",server="SRV-A",site="CORP"} 0',
      'xcon_work_queue_length{server="SRV-A",site="CORP"} 0',
      'xcon_association_opens_waiting{server="SRV-A",site="CORP"} 0',
      'xcon_messages_submitted_total{server="SRV-A",site="CORP"} 0',
      'xcon_events_total{event_id="9298",server="SRV-A",site="CORP"} 1'
    ]) expect(body).toContain(line)
    for (const name of ['xcon_control_blocks_in_use', 'xcon_control_blocks_leaked_total', 'xcon_association_attempts_total', 'xcon_messages_delivered_total', 'xcon_duplicates_suppressed_total', 'xcon_non_delivery_reports_total', 'xcon_control_blocks_exhaustion_seconds']) {
      expect(body).toContain(`# TYPE ${name} `)
    }
    // Nothing leaks yet: no estimate, no series.
    expect(body).not.toMatch(/^xcon_control_blocks_exhaustion_seconds\{/m)
    await t.send('SRV-A', 'user1@SRV-B', 3)
    await waitFor('three delivered on SRV-B', async () => (await (await fetch(status.mtas.find(m => m.name === 'SRV-B')!.metricsUrl)).text()).includes('xcon_messages_delivered_total{server="SRV-B",site="CORP"} 3'))
    const after = await (await fetch(a.metricsUrl)).text()
    expect(after).toContain('xcon_messages_submitted_total{server="SRV-A",site="CORP"} 3')
    expect(after).toMatch(/xcon_association_attempts_total\{direction="outbound",outcome="released",server="SRV-A",site="CORP"\} [0-9]+|xcon_control_blocks_in_use\{pool="site",server="SRV-A",site="CORP"\} 1/)
    // The Grafana dashboard asks only for series the MTAs serve (and Prometheus's own up/ALERTS).
    const dashboard = JSON.parse(readFileSync(join(MONITORING, 'grafana', 'xcon-dashboard.json'), 'utf8')) as { uid: string, panels: Array<{ gridPos: object, targets: Array<{ expr: string }> }>, annotations: { list: Array<{ expr: string }> } }
    expect(dashboard.uid).toBe('xcon-q260167')
    const exprs = [...dashboard.panels.flatMap(p => { expect(p.gridPos).toBeDefined(); return p.targets.map(x => x.expr) }), ...dashboard.annotations.list.map(a => a.expr)]
    for (const name of exprs.flatMap(e => e.match(/xcon_[a-z_]+/g) ?? [])) expect(body).toContain(`# TYPE ${name} `)
    if (promtool) {
      // Every expression parses as PromQL: promtool checks them as recording rules.
      const rules = join(t.dir, 'dashboard-rules.yml')
      writeFileSync(rules, JSON.stringify({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `xcon:dashboard_${i}`, expr: expr.replace(/\$server/g, '.*') })) }] }))
      expect(spawnSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' }).status).toBe(0)
      // promtool lints the exposition: names, units, _total, help texts.
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: after, encoding: 'utf8' })
      expect(lint.stdout + lint.stderr).toBe('')
      expect(lint.status).toBe(0)
    }
  })

  it.skipIf(!promtool)('unit-tests every shipped alert with promtool test rules', () => {
    const out = execFileSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: MONITORING, encoding: 'utf8' })
    expect(out).toContain('SUCCESS')
  })

  it.skipIf(!prometheus)('real Prometheus scrapes a local site, and the low-blocks alert fires before the first 9156', async () => {
    const t = await TestSite.start(SITE)
    const dir = mkdtempSync(join(tmpdir(), 'xcon-prometheus-'))
    dirs.push(dir)
    // The shipped configuration, pointed at this site's targets file and the shipped rules.
    const config = readFileSync(join(MONITORING, 'prometheus.yml'), 'utf8')
      .replace("'../../.xcon/prometheus-targets.json'", `'${join(t.site.dataDir, 'prometheus-targets.json')}'`)
      .replace('  - alerts.yml', `  - ${join(MONITORING, 'alerts.yml')}`)
    writeFileSync(join(dir, 'prometheus.yml'), config)
    const port = await freePort()
    const p = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' })
    children.push(p)
    const api = async <T>(path: string): Promise<T> => ((await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as { data: T }).data
    await waitFor('Prometheus to scrape all three MTAs', async () => {
      try { return (await api<{ activeTargets: Array<{ health: string }> }>('/api/v1/targets')).activeTargets.filter(x => x.health === 'up').length === 3 } catch { return false }
    }, 30_000)

    // The KB's story: a peer dies, SRV-A keeps retrying it, and leaks.
    await t.xcon('kill', 'SRV-C')
    await t.send('SRV-A', 'user1@SRV-C', 2)
    await t.send('SRV-A', 'user1@SRV-B', 1)
    let lowAt: number | undefined
    await waitFor('the low-blocks alert, then 9156 on SRV-A', async () => {
      if (lowAt === undefined) {
        const alerts = await api<{ alerts: Array<{ labels: Record<string, string>, state: string, activeAt: string }> }>('/api/v1/alerts')
        const low = alerts.alerts.find(x => x.labels.alertname === 'XconControlBlocksLow' && x.labels.server === 'SRV-A' && x.state === 'firing')
        if (low !== undefined) lowAt = Date.parse(low.activeAt)
      }
      return lowAt !== undefined && t.logs('SRV-A', 9156).length > 0
    }, 90_000, 200)
    const first9156 = Date.parse(t.logs('SRV-A', 9156)[0]!.time as string)
    const killedAt = Date.parse(t.logs('SRV-A').find(r => r.eventId === 9318)?.time as string)
    process.stderr.write(`timeline: first failed open to SRV-C ${new Date(killedAt).toISOString()}, XconControlBlocksLow firing ${((lowAt! - killedAt) / 1000).toFixed(1)} s later, first 9156 ${((first9156 - killedAt) / 1000).toFixed(1)} s later\n`)
    expect(lowAt!).toBeLessThan(first9156)
    // The leak shows in the counters too.
    const leaked = await api<{ result: Array<{ value: [number, string] }> }>('/api/v1/query?query=' + encodeURIComponent('xcon_control_blocks_leaked{server="SRV-A",pool="site"}'))
    expect(Number(leaked.result[0]!.value[1])).toBeGreaterThan(0)
  }, 150_000)
})
