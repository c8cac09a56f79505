import { execFile, spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import puppeteer from 'puppeteer-core'
import { afterEach, describe, expect, it } from 'vitest'
import { LocalSite } from '@xcon/cli'
import { CATALOGUE } from '@xcon/core'
import { XCON, waitFor } from '../support/site-harness.js'

const run = promisify(execFile)
/** The page's `document`, inside the functions puppeteer runs in the browser (the tests compile without the DOM library). */
declare const document: { querySelector: (s: string) => { textContent: string | null } | null }
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(p => spawnSync(p, ['--version'], { stdio: 'ignore' }).status === 0)
if (CHROMIUM === undefined) process.stderr.write('*** chromium not installed: the game day debrief is not checked in a browser (apt-get install chromium) ***\n')

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) {
    try { await run(process.execPath, [XCON, 'gameday', 'end', '--data', d], { timeout: 120_000 }) } catch { /* ended, or never started */ }
    try { const s = LocalSite.open(d); for (const n of s.names) await s.kill(n).catch(() => undefined) } catch { /* no site there */ }
    rmSync(d, { recursive: true, force: true })
  }
}, 180_000)

/** `xcon gameday …` (or any command) on the game day's site, as a trainee types it. */
async function xcon (data: string, ...args: string[]): Promise<string> {
  return (await run(process.execPath, [XCON, ...args, '--data', data], { timeout: 180_000 })).stdout
}
const logOf = (data: string, server: string): string => { try { return readFileSync(LocalSite.open(data).server(server).logFile, 'utf8') } catch { return '' } }
const has = (data: string, server: string, eventId: number): boolean => logOf(data, server).includes(`"eventId":${eventId}`)
const SERVERS = ['SRV-A', 'SRV-B', 'SRV-C', 'SRV-D']

async function start (incident: string, seed = 11, topology?: string): Promise<{ data: string, briefing: string, reveal: any }> {
  const data = mkdtempSync(join(tmpdir(), 'xcon-gameday-'))
  dirs.push(data)
  const briefing = await xcon(data, 'gameday', 'start', '--incident', incident, '--seed', String(seed), '--minutes', '3', ...(topology === undefined ? [] : ['--topology', topology]))
  return { data, briefing, reveal: JSON.parse(await xcon(data, 'gameday', 'reveal', '--json')) }
}

describe('xcon gameday', () => {
  it('lists the catalogue without saying which incident a seed draws, and refuses one it lacks', async () => {
    const list = (await run(process.execPath, [XCON, 'gameday', 'list'])).stdout
    for (const name of ['q260167', 'paused', 'one-way-partition', 'disk-full', 'sp4-holds', 'slow-link']) expect(list).toContain(name)
    const r = await run(process.execPath, [XCON, 'gameday', 'start', '--incident', 'meteor', '--data', join(tmpdir(), 'xcon-gameday-none')]).catch((e: { code: number, stderr: string }) => e)
    expect(r).toMatchObject({ code: 2 })
    expect((r as { stderr: string }).stderr).toMatch(/no incident "meteor": the catalogue has paused, sp4-holds/)
    // Nor does it wipe the data of a site that is not a game day's.
    const data = mkdtempSync(join(tmpdir(), 'xcon-gameday-'))
    dirs.push(data)
    writeFileSync(join(data, 'site.json'), '{}')
    const refused = await run(process.execPath, [XCON, 'gameday', 'start', '--data', data]).catch((e: { code: number, stderr: string }) => e)
    expect((refused as { stderr: string }).stderr).toContain(`${data} holds the data of a site (its queues and logs), and a game day starts a fresh site`)
    expect(existsSync(join(data, 'site.json'))).toBe(true)
  })

  it('each incident, started by name, shows its own symptom and not the others\', and loses nothing', async () => {
    const sp4 = join(mkdtempSync(join(tmpdir(), 'xcon-gameday-topo-')), 'sp4.yaml')
    dirs.push(join(sp4, '..'))
    writeFileSync(sp4, 'sites: { CORP: { secret: s, servers: [SRV-A, SRV-B, SRV-C, SRV-D] } }\ndefaults: { build: 2653, timeScale: 600, controlBlocks: 8 }\n')
    for (const incident of CATALOGUE.map(e => e.name)) {
      const g = await start(incident, 11, incident === 'sp4-holds' ? sp4 : undefined)
      expect(g.reveal.incident).toBe(incident)
      // The briefing says what users see, never the cause.
      expect(g.briefing).toMatch(/Reported at day 1 \d\d:\d\d MTA time \(real \d\d:\d\d:\d\d\): mail .* (stuck|late)|cannot send mail/)
      expect(g.briefing).not.toMatch(/leak|9156|paus|partition|disk|latency|slow|killed|crash/i)
      await new Promise(resolve => setTimeout(resolve, 3000))
      const stopped = SERVERS.filter(n => has(g.data, n, 9156))
      const faults = g.reveal.faults as Array<{ kind: string, server?: string, from?: string, to?: string }>
      const kinds = faults.map(f => f.kind)
      if (incident.startsWith('q260167')) {
        expect(stopped.length).toBeGreaterThan(0)
      } else {
        // The look-alikes are not the leak: no MTA stops.
        expect(stopped).toEqual([])
      }
      const status = JSON.parse(await xcon(g.data, 'status', '--json')).mtas as Array<{ name: string, state: string, controlBlocks: { leaked: number } | null }>
      // Two faults at once at hard: each shows.
      if (incident.includes('-and-')) expect(kinds.length).toBe(2)
      if (kinds.includes('pause')) expect(status.find(m => m.name === faults.find(f => f.kind === 'pause')!.server)?.state).toBe('paused')
      if (incident === 'paused') {
        // A second game day is not started over a running one.
        const again = await run(process.execPath, [XCON, 'gameday', 'start', '--data', g.data]).catch((e: { stderr: string }) => e)
        expect((again as { stderr: string }).stderr).toContain(`a game day runs under ${g.data}: "npx xcon gameday end" first`)
      }
      if (incident === 'sp4-holds') {
        expect(status.find(m => m.name === faults[0]!.server)?.state).toBe('down')
        expect(status.every(m => m.controlBlocks === null || m.controlBlocks.leaked === 0)).toBe(true)
      }
      if (kinds.includes('disk-full')) {
        const full = faults.find(f => f.kind === 'disk-full')!.server!
        expect(has(g.data, full, 9411)).toBe(true)
        // Asking the storage team frees it, and is an action of the trainee.
        expect(await xcon(g.data, 'gameday', 'ask', 'storage', 'is', 'a', 'disk', 'full?')).toContain(`the storage team freed space on the disk of ${full}`)
      }
      if (kinds.includes('partition') || kinds.includes('latency')) {
        expect(await xcon(g.data, 'gameday', 'ask', 'network', 'please', 'check')).toContain('the network team found trouble on the site\'s links and mended it')
      }
      const end = JSON.parse(await xcon(g.data, 'gameday', 'end', '--json'))
      expect(end).toMatchObject({ incident, lost: 0, duplicated: 0 })
      expect(end.score).toBeGreaterThanOrEqual(0)
      expect(end.score).toBeLessThanOrEqual(100)
    }
  }, 900_000)

  it('scores an expert above a novice on the same seed; the novice\'s debrief names the re-leak, and neither loses mail', async () => {
    // The expert reads the cause (reveal) and does what it says.
    const expert = await start('q260167', 260167)
    if (CHROMIUM !== undefined) {
      // The dashboard shows the game day's banner: the symptom and the clocks, not the cause.
      const dash = spawn(process.execPath, [XCON, 'dashboard', '--data', expert.data], { stdio: ['ignore', 'pipe', 'ignore'] })
      try {
        let url = ''
        for await (const line of createInterface({ input: dash.stdout })) { const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(line); if (m !== null) { url = m[1]!; break } }
        const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] })
        try {
          const page = await browser.newPage()
          await page.goto(url)
          await page.waitForFunction(() => (document.querySelector('#gameday')?.textContent ?? '').startsWith('GAME DAY'), { timeout: 15_000 })
          const banner = await page.$eval('#gameday', el => el.textContent ?? '')
          expect(banner).toContain(`GAME DAY: ${expert.reveal.symptom as string}. MTA time day `)
          expect(banner).not.toMatch(/leak|9156|killed/i)
        } finally {
          await browser.close()
        }
      } finally {
        dash.kill('SIGKILL')
      }
    }
    for (const c of expert.reveal.causes as Array<{ server: string, cause: string }>) await xcon(expert.data, 'gameday', 'diagnose', '--server', c.server, '--cause', c.cause)
    for (const step of expert.reveal.expert as Array<{ do: string, servers?: string[], team?: string }>) {
      if (step.do === 'ask') await xcon(expert.data, 'gameday', 'ask', step.team!, 'please')
      else await xcon(expert.data, step.do, ...step.servers!)
    }
    await waitFor('the expert\'s site drained', async () => {
      const mtas = JSON.parse(await xcon(expert.data, 'status', '--json')).mtas as Array<{ state: string, queues: Array<{ depth: number }> }>
      return mtas.every(m => m.state === 'running' && m.queues.every(q => q.depth === 0))
    }, 60_000, 500)
    const e = JSON.parse(await xcon(expert.data, 'gameday', 'end', '--json'))

    // The novice restarts every running MTA at once, with the dead peer still down.
    const novice = await start('q260167', 260167)
    const dead = (novice.reveal.faults as Array<{ server: string }>)[0]!.server
    const restarted = SERVERS.filter(n => n !== dead)
    await xcon(novice.data, 'restart', ...restarted)
    // With the peer still down, the restarted MTAs fail against it again and run out again (9156 anew).
    await waitFor('a restarted MTA out of control blocks again', async () => {
      const mtas = JSON.parse(await xcon(novice.data, 'status', '--json')).mtas as Array<{ name: string, controlBlocks: { exhaustedCount: number } | null }>
      return mtas.some(m => restarted.includes(m.name) && (m.controlBlocks?.exhaustedCount ?? 0) > 0)
    }, 90_000, 1000)
    const n = JSON.parse(await xcon(novice.data, 'gameday', 'end', '--json'))

    expect(e.recovered).toBe(true)
    expect(e.findings).toEqual([])
    expect(e.score).toBeGreaterThan(n.score)
    expect(n.findings.map((f: { code: string }) => f.code)).toContain('restart-before-peer')
    expect(n.findings.find((f: { code: string }) => f.code === 'restart-before-peer').text).toMatch(new RegExp(`while ${dead} was still down: .*leaked its control blocks again`))
    for (const d of [e, n]) expect(d).toMatchObject({ lost: 0, duplicated: 0 })
    process.stderr.write(`game day q260167 seed 260167: expert ${e.score} (recovered in ${e.recoverySeconds} s), novice ${n.score} (${n.findings.map((f: { code: string }) => f.code).join(', ')})\n`)

    // The debrief page, in a real browser: the score, the hidden timeline, the charts.
    if (CHROMIUM !== undefined) {
      const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] })
      try {
        const page = await browser.newPage()
        await page.goto(`file://${e.debriefHtml as string}`)
        expect(await page.$eval('.score', el => el.textContent)).toBe(String(e.score))
        const rows = await page.$$eval('#timeline tr', trs => trs.map(tr => tr.textContent ?? ''))
        expect(rows.some(r => r.includes('incident') && r.includes(`${dead} killed`))).toBe(true)
        expect(rows.some(r => r.includes('trainee') && r.includes(`start ${dead}`))).toBe(true)
        expect(await page.$$eval('svg', s => s.length)).toBeGreaterThanOrEqual(2)
      } finally {
        await browser.close()
      }
    }
  }, 600_000)
})
