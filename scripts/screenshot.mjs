// A screenshot of the xcon dashboard: `npm run screenshot -- URL FILE [WIDTH]`. The page draws
// itself by script after it loads (its cards come with the first server-sent event), so a bare
// `chromium --screenshot` catches an empty page; this waits until every MTA's card is drawn.
import { spawnSync } from 'node:child_process'
import puppeteer from 'puppeteer-core'

const [url, file, width = '1100'] = process.argv.slice(2)
if (url === undefined || file === undefined) {
  process.stderr.write('usage: npm run screenshot -- URL FILE [WIDTH]   (URL: what xcon dashboard prints)\n')
  process.exit(2)
}
const chromium = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(p => p !== undefined && spawnSync(p, ['--version'], { stdio: 'ignore' }).status === 0)
if (chromium === undefined) {
  process.stderr.write('screenshot: no Chromium here (apt-get install chromium, or name one with CHROMIUM=PATH)\n')
  process.exit(1)
}
const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu'] })
try {
  const page = await browser.newPage()
  await page.setViewport({ width: Number(width), height: 900 })
  await page.goto(url)
  // Drawn: one card per server of the site, each with its control blocks line.
  await page.waitForFunction(() => {
    const want = document.querySelectorAll('#fServer option').length - 1
    return want > 0 && document.querySelectorAll('.mta .body h2').length === want
  }, { timeout: 30_000 })
  await page.screenshot({ path: file, fullPage: true })
  process.stdout.write(`${file}\n`)
} finally {
  await browser.close()
}
