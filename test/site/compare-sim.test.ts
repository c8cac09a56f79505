import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { XCON } from '../support/site-harness.js'

const run = promisify(execFile)
const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

describe('scenario run --compare-sim: the simulator checked against the processes it models', () => {
  it('runs scenarios/q260167.yaml on processes and in simulation, and their findings agree', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-compare-'))
    dirs.push(dir)
    const { stdout } = await run(process.execPath, [XCON, 'scenario', 'run', resolve(import.meta.dirname, '../../scenarios/q260167.yaml'), '--compare-sim', '--out', dir], { timeout: 240_000 })
    // Who stops and who does not, the drain after the restart, nothing lost, the connector: the same.
    const table = stdout.slice(stdout.indexOf('COMPARED'))
    for (const what of ['delivery every message', 'stop SRV-A', 'stop SRV-B', 'drain SRV-A', 'connectors every connector']) {
      expect(table).toMatch(new RegExp(`${what}\\s+ok\\s+ok\\s+agree`))
    }
    // The first 9156 within 20 % or two open intervals.
    expect(table).toMatch(/first 9156 SRV-A\s+\d+\.\d s\s+\d+\.\d s\s+agree/)
    expect(table).not.toContain('DIFFER')
    expect(stdout).toContain('comparison: processes and simulation agree')
    expect(existsSync(join(dir, 'simulation', 'history.ndjson'))).toBe(true)
    expect(JSON.parse(readFileSync(join(dir, 'simulation', 'results.json'), 'utf8')).runtime).toBe('simulation')
  }, 300_000)
})
