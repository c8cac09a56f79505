import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { xcon } from '../support/run-xcon.js'

const Q260167 = resolve(import.meta.dirname, '../../scenarios/q260167.yaml')
const dirs: string[] = []
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'xcon-sim-')); dirs.push(d); return d }
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

/** Runs `xcon simulate`, as a user would, and keeps its exit code. */
const simulate = async (...args: string[]) => await xcon(['simulate', ...args], 120_000)

describe('xcon simulate', () => {
  it('plays scenarios/q260167.yaml in simulated time: valid, and byte-identical for the same file and seed', async () => {
    const [a, b] = [tmp(), tmp()]
    const first = await simulate(Q260167, '--out', a)
    const second = await simulate(Q260167, '--out', b)
    expect(first.code).toBe(0)
    expect(second.code).toBe(0)
    const history = readFileSync(join(a, 'history.ndjson'))
    expect(readFileSync(join(b, 'history.ndjson')).equals(history)).toBe(true)
    const digest = createHash('sha256').update(history).digest('hex')
    expect(first.stdout).toContain(`history sha256 ${digest}`)
    expect(second.stdout).toContain(`history sha256 ${digest}`)
    // The same findings as on processes: SRV-A (SP3) stops, SRV-B (SP4) does not, the drain, the connector.
    expect(first.stdout).toMatch(/stop\s+SRV-A \(build 2650\)\s+ok\s+stopped reaching SRV-\w+, under no fault at that moment, at /)
    expect(first.stdout).toMatch(/stop\s+SRV-B \(build 2653\)\s+ok\s+never stopped/)
    expect(first.stdout).toMatch(/drain\s+SRV-A after its restart/)
    const results = JSON.parse(readFileSync(join(a, 'results.json'), 'utf8'))
    expect(results).toMatchObject({ runtime: 'simulation', historySha256: digest, verdict: 'valid' })
    expect(results.counts.lost).toBe(0)
    expect(results.counts.duplicated).toBe(0)
    expect(readFileSync(join(a, 'report.html'), 'utf8')).toContain('valid')
    expect(readFileSync(join(a, 'report.md'), 'utf8')).toContain('SRV-A')
  })

  it('plays scenarios/node-loss.yaml: a node\'s MTAs fail together, and the SP3 MTA of the other node stops on its healthy neighbour', async () => {
    const out = tmp()
    const run = await simulate(resolve(import.meta.dirname, '../../scenarios/node-loss.yaml'), '--out', out)
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/stop\s+SRV-A \(build 2650\)\s+ok\s+stopped reaching SRV-B, under no fault at that moment/)
    expect(run.stdout).toMatch(/delivery\s+every message\s+ok/)
    const faults = readFileSync(join(out, 'history.ndjson'), 'utf8').split('\n').filter(l => l.includes('"type":"fault"')).map(l => JSON.parse(l) as { action: string, targets: string[] })
    expect(faults.slice(0, 2).map(f => `${f.action} ${f.targets.join(',')}`)).toEqual(['fail-node SRV-C,SRV-D', 'restore-node SRV-C,SRV-D'])
  })

  it('another seed gives another history; an expectation the run breaks exits 1; a broken file exits 2 naming it', async () => {
    const dir = tmp()
    const other = await simulate(Q260167, '--seed', '7', '--out', join(dir, 'seed7'))
    expect(other.stdout).toContain('seed 7')
    const wrong = join(dir, 'wrong.yaml')
    // SP4 never stops: expecting it to is an invalid run.
    writeFileSync(wrong, readFileSync(Q260167, 'utf8').replace('stops: { SRV-A: true, SRV-B: false }', 'stops: { SRV-A: true, SRV-B: true }'))
    const invalid = await simulate(wrong, '--out', join(dir, 'wrong'))
    expect(invalid.code).toBe(1)
    expect(invalid.stdout).toMatch(/SRV-B \(build 2653\)\s+FAIL/)
    const broken = join(dir, 'broken.yaml')
    writeFileSync(broken, 'name: x\nduration: soon\ntopology: { organization: X }\n')
    const bad = await simulate(broken)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('broken.yaml')
    const missing = await simulate(join(dir, 'nope.yaml'))
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('scenario file not found')
  })
})
