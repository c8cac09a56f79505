import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { XCON } from '../support/site-harness.js'

const run = promisify(execFile)
const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

describe('the soak', () => {
  it('loses and duplicates nothing over one seed of random faults with SP3 and SP4 mixed (npm run soak runs more)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'xcon-soak-'))
    dirs.push(out)
    const { stdout } = await run(process.execPath, [XCON, 'scenario', 'soak', 'scenarios/soak-short.yaml', '--seeds', '1', '--out', out], { timeout: 180_000 })
    expect(stdout).toMatch(/^seed 1: valid, \d+ recipients, \d+ delivered once, 0 lost, 0 duplicated, \d+ NDRs, 0 still queued/m)
    expect(stdout).toMatch(/^soak: 1 seeds, \d+ recipients, 0 lost, 0 duplicated/m)
  })
})
