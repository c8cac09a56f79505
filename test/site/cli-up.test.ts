import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { XCON, waitFor } from '../support/site-harness.js'
import { xcon } from '../support/run-xcon.js'

const cleanups: Array<() => void> = []
afterEach(() => { for (const c of cleanups.splice(0)) c() })

describe('xcon up in the foreground', () => {
  it('runs the default site, prints readable logs, and closes every MTA down on Ctrl-C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-up-'))
    const child = spawn(process.execPath, [XCON, 'up', '--data', join(dir, 'site')], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { out += d.toString() })
    const pids = (): number[] => Object.values((JSON.parse(readFileSync(join(dir, 'site', 'site.json'), 'utf8')) as { servers: Record<string, { pid: number }> }).servers).map(s => s.pid)
    cleanups.push(() => {
      child.kill('SIGKILL')
      try { for (const pid of pids()) process.kill(pid, 'SIGKILL') } catch { /* gone */ }
      rmSync(dir, { recursive: true, force: true })
    })
    // The hint is the last thing up prints, and may come in a chunk of its own.
    await waitFor('the site to come up, and the hint', () => out.includes('Site up: 4 MTAs') && out.includes('Try: '), 30_000)
    for (const s of ['SRV-A', 'SRV-B', 'SRV-C', 'SRV-D']) {
      expect(out).toMatch(new RegExp(`\\d\\d:\\d\\d:\\d\\d\\.\\d{3}  ${s}\\s+9298  X\\.400 Service\\s+Microsoft Exchange Server MTA Service startup complete, version 5\\.5 \\(build 265[03]\\)\\.`))
    }
    expect(out).toMatch(/SRV-D\s+CORP\s+2653\s+running\s+\d\/8\s+0 /)
    // The hint names a kill that makes the SP3 servers leak, with the --data this site needs.
    expect(out).toContain(`Try: npx xcon --data ${join(dir, 'site')} kill SRV-D   (SRV-A, SRV-B, SRV-C run builds that leak, in SRV-D's site)`)
    const started = pids()
    child.kill('SIGINT')
    const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
    expect(code).toBe(0)
    expect(out.match(/ 9299  X\.400 Service/g)).toHaveLength(4)
    // What was folded before Ctrl-C is printed before the closedown, not after its 9299 lines.
    const closing = out.indexOf('closing the site down')
    expect(closing).toBeGreaterThan(0)
    expect(out.slice(closing)).not.toMatch(/×\d+ more/)
    expect(out).not.toContain('Reused the stores')
    // An MTA that has exited may linger a moment as a zombie until init reaps it.
    const gone = (pid: number): boolean => { try { process.kill(pid, 0); return false } catch { return true } }
    await waitFor('every MTA process to be gone', () => started.every(gone), 10_000)
    // The next up finds the stores of this one, and says so.
    const again = await xcon(['up', '-d', '--data', join(dir, 'site')])
    expect(again.stdout).toContain(`Reused the stores of the last run under ${join(dir, 'site')}: its queued mail and counters are back (npx xcon up --fresh starts from nothing).`)
    await xcon(['down', '--data', join(dir, 'site')])
    expect((await xcon(['up', '-d', '--fresh', '--data', join(dir, 'site')])).stdout).not.toContain('Reused')
    await xcon(['down', '--data', join(dir, 'site')])
  })
})
