import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { xcon as run } from '../support/run-xcon.js'

const dirs: string[] = []
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'xcon-forecast-')); dirs.push(d); return d }
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

const xcon = async (...args: string[]) => await run(args, 120_000)

/** The forecast row of one rate: its first 9156 in hours, or null for none. */
function hoursOf (stdout: string, rate: number): number | null {
  const line = stdout.split('\n').find(l => l.startsWith(`${rate} `))
  if (line === undefined) throw new Error(`no row for ${rate} in:\n${stdout}`)
  if (line.includes('none in')) return null
  const m = /(?:(\d+) d)? ?(?:(\d+) h)? ?(?:(\d+) m)? ?(?:(\d+) s)?\s{2,}/.exec(line.slice(21))
  const [d, h, mi, s] = [m?.[1], m?.[2], m?.[3], m?.[4]].map(v => Number(v ?? 0))
  return d! * 24 + h! + mi! / 60 + s! / 3600
}

describe('xcon forecast', () => {
  it('answers per rate how long a pre-SP4 MTA runs before its first 9156: the faster the failures, the sooner; SP4 never', async () => {
    const dir = tmp()
    const chart = join(dir, 'forecast.svg')
    const sp3 = await xcon('forecast', '--failures-per-hour', '1,6,60', '--days', '3', '--chart', chart, '--write-scenarios', join(dir, 'scenarios'))
    expect(sp3.code).toBe(0)
    expect(sp3.stdout).toContain('build 2650 (SP3), 20 control blocks')
    // Each column is explained under the table.
    expect(sp3.stdout).toMatch(/^MADE\/H\s+the failed associations an hour the simulation made/m)
    expect(sp3.stdout).toMatch(/^MODEL\s+what the leak model expects/m)
    const [slow, mid, fast] = [hoursOf(sp3.stdout, 1), hoursOf(sp3.stdout, 6), hoursOf(sp3.stdout, 60)]
    expect(slow).not.toBeNull()
    expect(slow!).toBeGreaterThan(mid!)
    expect(mid!).toBeGreaterThan(fast!)
    // The model: 19 blocks to lose at probability 0.5 is about 38 failures; at 6 an hour about 6 h.
    expect(mid!).toBeGreaterThan(2)
    expect(mid!).toBeLessThan(20)
    const svg = readFileSync(chart, 'utf8')
    expect(svg).toContain('<svg')
    expect(svg).toContain('6 failures/h')
    // Each rate's scenario is kept, and simulate runs it.
    const kept = readdirSync(join(dir, 'scenarios'))
    expect(kept).toHaveLength(3)
    const again = await xcon('simulate', join(dir, 'scenarios', kept.find(f => f.includes('-60ph'))!), '--out', join(dir, 'again'))
    expect(again.stdout).toMatch(/stop\s+SUBJECT \(build 2650\)\s+ok/)

    const sp4 = await xcon('forecast', '--failures-per-hour', '60', '--build', '2653', '--days', '2')
    expect(sp4.code).toBe(0)
    expect(sp4.stdout).toContain('no leak')
    expect(hoursOf(sp4.stdout, 60)).toBeNull()
  })

  it('forecasts a server of the user\'s own topology, and names what is wrong with bad input', async () => {
    const dir = tmp()
    const topology = join(dir, 'mine.yaml')
    writeFileSync(topology, 'organization: ACME\nsites:\n  HQ: { secret: x, servers: [MAIL1, MAIL2, MAIL3] }\ndefaults: { build: 2653, timeScale: 600 }\nservers:\n  MAIL2: { build: 2650, controlBlocks: 10 }\n')
    const mine = await xcon('forecast', '--topology', topology, '--failures-per-hour', '12')
    expect(mine.code).toBe(0)
    expect(mine.stdout).toContain('forecast for MAIL2: build 2650 (SP3), 10 control blocks')
    expect(hoursOf(mine.stdout, 12)).not.toBeNull()
    const unknown = await xcon('forecast', '--topology', topology, '--server', 'NOPE', '--failures-per-hour', '1')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('NOPE is not a server of the topology')
    const rate = await xcon('forecast', '--failures-per-hour', 'lots')
    expect(rate.code).toBe(2)
    expect(rate.stderr).toContain('--failures-per-hour')
    const missing = await xcon('forecast', '--topology', join(dir, 'none.yaml'), '--failures-per-hour', '1')
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('topology file not found')
  })
})
