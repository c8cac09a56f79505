import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import type { HistoryRecord } from '@xcon/core'
import { XCON, waitFor } from '../support/site-harness.js'

const run = promisify(execFile)
const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

describe('xcon scenario run', () => {
  it('runs the smoke scenario end to end on real processes and finds it valid, with history and report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'xcon-scenario-'))
    dirs.push(out)
    const { stdout } = await run(process.execPath, [XCON, 'scenario', 'run', resolve(import.meta.dirname, '../../scenarios/smoke.yaml'), '--out', out], { timeout: 120_000 })
    expect(stdout).toMatch(/^scenario smoke: seed 7, 6 fault steps, 12 s/)
    expect(stdout).toMatch(/stop\s+SRV-A \(build 2650\)\s+ok\s+stopped reaching SRV-[BC], under no fault at that moment, at [\d.]+ s \(9156\), restarted at 9\.\d s; expected a stop/)
    expect(stdout).toMatch(/verdict: valid \(seed 7,/)

    const history = readFileSync(join(out, 'history.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as HistoryRecord)
    const types = new Set(history.map(r => r.type))
    // submit-failed may appear too: submissions to SRV-A while it restarts.
    for (const type of ['run', 'submit', 'deliver', 'fault', 'event', 'sample', 'end']) expect(types).toContain(type)
    expect(history.filter(r => r.type === 'fault').map(r => r.type === 'fault' && `${r.action} ${r.targets.join(',')}`)).toEqual([
      'kill SRV-C', 'partition SRV-B,SRV-C', 'join SRV-B,SRV-C', 'start SRV-C', 'restart SRV-A', 'heal SRV-A,SRV-B,SRV-C'
    ])
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { verdict: string, seed: number, counts: { lost: number, duplicated: number } }
    expect(results).toMatchObject({ verdict: 'valid', seed: 7, counts: { lost: 0, duplicated: 0 } })
    const html = readFileSync(join(out, 'report.html'), 'utf8')
    expect(html).toContain('<span class="valid">valid</span>')
    // Small multiples: two charts per MTA (free control blocks, queued) on one time axis, and the message rate.
    expect(html.match(/<svg /g)).toHaveLength(3 * 2 + 1)
    for (const s of ['SRV-A', 'SRV-B', 'SRV-C']) expect(html).toContain(`${s}: first startup (9298)`)
    // The 9156 the checker counts as the stop is drawn apart from the 9156s toward a peer under a fault.
    expect(html.match(/SRV-A: the stop: the first 9156 toward a healthy peer/g)?.length).toBeGreaterThanOrEqual(1)
    expect(html).toMatch(/SRV-A: started again \(9298\)/)
    // One line per fault as it happens, on a pipe.
    expect(stdout).toMatch(/^ +1\.0 s {2}fault: kill SRV-C \(faults\[0\]\)$/m)
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/) // readable offline
    expect(existsSync(join(out, 'report.md'))).toBe(true)
  })

  it('exits 1 when the expectation is wrong, as Maelstrom does for an invalid run; a toxic added through the link API during the run is a fault of its history', async () => {
    const out = mkdtempSync(join(tmpdir(), 'xcon-scenario-'))
    dirs.push(out)
    const child = spawn(process.execPath, [XCON, 'scenario', 'run', resolve(import.meta.dirname, '../../scenarios/smoke.yaml'), '--out', out])
    let stdout = ''
    child.stdout.on('data', d => { stdout += d.toString() })
    const exited = new Promise(resolve => child.on('exit', resolve))
    try {
      // The run names its link API; a toxic on SRV-B->SRV-A through it, then its removal.
      const api = await waitFor('the link API line', () => /Toxiproxy API at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1], 30_000)
      await waitFor('the run to start', () => stdout.includes('fault: kill SRV-C'), 30_000)
      const added = await fetch(`${api}/proxies/SRV-B-%3ESRV-A/toxics`, { method: 'POST', body: JSON.stringify({ name: 'slow-b', type: 'latency', stream: 'both', attributes: { latency: 20 } }) })
      expect(added.status).toBe(200)
      await new Promise(resolve => setTimeout(resolve, 1000))
      expect((await fetch(`${api}/proxies/SRV-B-%3ESRV-A/toxics/slow-b`, { method: 'DELETE' })).status).toBe(204)
      await exited
    } finally { child.kill('SIGINT') }
    const history = readFileSync(join(out, 'history.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as HistoryRecord)
    const linkFaults = history.filter(r => r.type === 'fault' && r.action.startsWith('link-'))
    expect(linkFaults).toMatchObject([
      { action: 'link-toxic', targets: ['SRV-B', 'SRV-A'], links: ['SRV-B->SRV-A'], toxic: 'slow-b', source: 'link API: toxic slow-b (type latency, latency=20, jitter=0, both, toxicity 1) on SRV-B->SRV-A' },
      { action: 'link-untoxic', targets: ['SRV-B', 'SRV-A'], toxic: 'slow-b' }
    ])
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('link-toxic SRV-B, SRV-A (link API: toxic slow-b')
    // Same history, checked against a scenario that expects SRV-A never to stop.
    const wrong = join(out, 'wrong.yaml')
    const text = readFileSync(resolve(import.meta.dirname, '../../scenarios/smoke.yaml'), 'utf8').replace('stops: { SRV-A: true', 'stops: { SRV-A: false')
    await import('node:fs').then(fs => fs.writeFileSync(wrong, text))
    const r = await run(process.execPath, [XCON, 'scenario', 'check', join(out, 'history.ndjson'), '--scenario', wrong]).then(() => 0, (err: { code: number }) => err.code)
    expect(r).toBe(1)
  })

  it('closes its site down on Ctrl-C: exit 130, the partial history kept, no MTA left running', async () => {
    const out = mkdtempSync(join(tmpdir(), 'xcon-scenario-'))
    dirs.push(out)
    const child = spawn(process.execPath, [XCON, 'scenario', 'run', resolve(import.meta.dirname, '../../scenarios/smoke.yaml'), '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
    try {
      await waitFor('the site to be up', async () => stdout.includes('backend local: 3 MTAs'), 30_000)
      await waitFor('a first sample', async () => existsSync(join(out, 'history.ndjson')) && readFileSync(join(out, 'history.ndjson'), 'utf8').includes('"type":"sample"'), 30_000)
      child.kill('SIGINT')
      expect(await exited).toBe(130)
    } finally {
      child.kill('SIGKILL')
    }
    expect(stderr).toContain('xcon: interrupted (SIGINT): the site is closed down; the partial history is in')
    // The partial history has no end record, so checking it again says unknown (exit 2), not valid.
    expect(readFileSync(join(out, 'history.ndjson'), 'utf8')).not.toContain('"type":"end"')
    const check = await run(process.execPath, [XCON, 'scenario', 'check', join(out, 'history.ndjson'), '--scenario', resolve(import.meta.dirname, '../../scenarios/smoke.yaml')]).then(() => 0, (err: { code: number }) => err.code)
    expect(check).toBe(2)
    const pids = Object.values((JSON.parse(readFileSync(join(out, 'site', 'site.json'), 'utf8')) as { servers: Record<string, { pid: number | null }> }).servers).map(s => s.pid)
    expect(pids).toHaveLength(3)
    for (const pid of pids) expect(() => process.kill(pid!, 0)).toThrow() // gone
  })
})
