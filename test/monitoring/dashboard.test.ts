import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, XCON, closeAllSites, siteYaml } from '../support/site-harness.js'

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(p => spawnSync(p, ['--version'], { stdio: 'ignore' }).status === 0)
// CI installs Debian's chromium (.ci/run); without it this test says so once, loudly.
if (CHROMIUM === undefined) process.stderr.write('*** chromium not installed: the dashboard browser test is skipped (apt-get install chromium) ***\n')
/** Screenshots of the run, kept as test output (gitignored). */
const OUTPUT = resolve(import.meta.dirname, '../output')

let browser: Browser | undefined
let dashboard: ChildProcess | undefined
afterEach(async () => {
  await browser?.close()
  browser = undefined
  dashboard?.kill('SIGKILL')
  dashboard = undefined
  await closeAllSites()
})

/** `xcon dashboard` on the site, as a user starts it; resolves to the URL it prints. */
async function startDashboard (dataDir: string): Promise<string> {
  dashboard = spawn(process.execPath, [XCON, 'dashboard', '--data', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] })
  const rl = createInterface({ input: dashboard.stdout! })
  for await (const line of rl) {
    const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)
    if (m !== null) return m[1]!
  }
  throw new Error('xcon dashboard printed no URL')
}

/** The page's `document`, inside the functions puppeteer runs in the browser (the tests compile without the DOM library). */
declare const document: { querySelector: (s: string) => { textContent: string | null } | null, querySelectorAll: (s: string) => Iterable<{ textContent: string | null, children: ArrayLike<{ textContent: string | null }> }> }

const text = async (page: Page, selector: string): Promise<string> => await page.$eval(selector, el => el.textContent ?? '')

describe('xcon dashboard in a real browser', () => {
  it.skipIf(CHROMIUM === undefined)('shows the leak build on a pre-SP4 MTA, its 9156, and the recovery after the buttons start the peer and restart the MTA', async () => {
    // SRV-A on SP3 with 6 control blocks, each failure kept: the stop comes in seconds.
    const t = await TestSite.start(siteYaml(['SRV-A', 'SRV-B', 'SRV-C'], 'build: 2653, timeScale: 600, controlBlocks: 6, traffic: off') + 'servers:\n  SRV-A: { build: 2650, leak: { probability: 1 } }\n')
    const url = await startDashboard(t.site.dataDir)
    mkdirSync(OUTPUT, { recursive: true })
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] })
    const page = await browser.newPage()
    await page.setViewport({ width: 1100, height: 900 })
    await page.goto(url)
    const a = '.mta[data-server="SRV-A"]'
    await page.waitForFunction(sel => document.querySelector(sel + ' .free-count')?.textContent === '5', { timeout: 15_000 }, a)
    expect(await text(page, `${a} h2`)).toContain('build 2650')
    await page.screenshot({ path: join(OUTPUT, 'dashboard-1-healthy.png'), fullPage: true })

    // Kill the peer with its button; mail for it makes SRV-A retry, and keep the blocks.
    await page.click('button[data-verb="kill"][data-server="SRV-C"]')
    await page.waitForFunction(() => document.querySelector('.mta[data-server="SRV-C"] .state')?.textContent === 'down', { timeout: 15_000 })
    await t.send('SRV-A', 'user1@SRV-C', 2)
    await page.waitForFunction(sel => document.querySelector(sel + ' .free-count')?.textContent === '0', { timeout: 60_000 }, a)
    // Mail for the healthy SRV-B can no longer go: 9156 in the tail.
    await t.send('SRV-A', 'user1@SRV-B', 1)
    await page.waitForFunction(() => [...document.querySelectorAll('#tail div')].some(d => d.textContent?.includes('9156') === true && d.textContent.includes('SRV-A')), { timeout: 30_000 })
    expect(await text(page, `${a} .leaked-count`)).toBe('5')
    // The state word says what the CLI says: running, but with no control block.
    expect(await text(page, `${a} .state`)).toBe('running (no CBs)')
    // The tail is in time order, and the page says what MTA time is.
    const times = await page.$$eval('#tail div', divs => divs.map(d => (d.textContent ?? '').slice(0, 12)))
    expect(times).toEqual([...times].sort())
    expect(await text(page, '#timeNote')).toContain('MTA time: each MTA runs Exchange\'s timings 600 times faster than real time (its time scale), so its 600 s open retry interval takes 1 s here.')
    await page.screenshot({ path: join(OUTPUT, 'dashboard-2-stopped.png'), fullPage: true })
    // The screenshot command docs/monitoring.md offers waits for the page to draw itself.
    const shot = spawnSync('npm', ['run', '--silent', 'screenshot', '--', url, join(OUTPUT, 'dashboard-npm-screenshot.png')], { cwd: resolve(import.meta.dirname, '../..'), encoding: 'utf8', timeout: 60_000 })
    expect(shot.status).toBe(0)
    expect(statSync(join(OUTPUT, 'dashboard-npm-screenshot.png')).size).toBeGreaterThan(20_000)

    // The workaround, from the page: the peer back, then a restart of the leaky MTA.
    await page.click('button[data-verb="start"][data-server="SRV-C"]')
    await page.waitForFunction(() => document.querySelector('.mta[data-server="SRV-C"] .state')?.textContent === 'running', { timeout: 30_000 })
    await page.click(`button[data-verb="restart"][data-server="SRV-A"]`)
    await page.waitForFunction(sel => Number(document.querySelector(sel + ' .free-count')?.textContent) > 0 && document.querySelector(sel + ' .leaked-count')?.textContent === '0', { timeout: 30_000 }, a)
    // The queue to SRV-B drains once SRV-A can open again.
    await page.waitForFunction(sel => [...document.querySelectorAll(sel + ' .queues tr')].every(tr => tr.children[1]?.textContent === '0'), { timeout: 30_000 }, a)
    await page.screenshot({ path: join(OUTPUT, 'dashboard-3-recovered.png'), fullPage: true })
    // A request for another name (a DNS-rebinding page) gets nothing, and presses no button.
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(url)
      request({ host: u.hostname, port: u.port, path: '/action', method: 'POST', headers: { host: `evil.example:${u.port}`, 'content-type': 'application/json' } }, res => { res.resume(); resolve(res.statusCode ?? 0) })
        .on('error', reject).end(JSON.stringify({ server: 'SRV-B', verb: 'kill' }))
    })
    expect(status).toBe(421)
    expect(await text(page, '.mta[data-server="SRV-B"] .state')).toBe('running')
  }, 180_000)
})
