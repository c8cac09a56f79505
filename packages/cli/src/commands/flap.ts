import { sleep } from '../durations.js'
import type { SiteBackend } from '../site/site-backend.js'

/**
 * Kills an MTA and starts it again, `count` times: down for `downMs` (peers get refusals), then
 * up for `upMs`. The failures pile up in the peers' control-block pools.
 */
export async function flap (site: SiteBackend, name: string, downMs: number, upMs: number, count: number, out: (line: string) => void, log: (action: string, server: string, detail?: string) => void = () => {}): Promise<void> {
  const server = site.resolve(name)
  for (let i = 1; i <= count; i++) {
    log('kill', server, `(xcon flap ${i}/${count}, down for ${downMs} ms)`)
    await site.kill(server)
    out(`${new Date().toISOString()} flap ${i}/${count}: ${server} killed, down for ${downMs} ms`)
    await sleep(downMs)
    log('start', server, `(xcon flap ${i}/${count})`)
    await site.start(server)
    out(`${new Date().toISOString()} flap ${i}/${count}: ${server} up again${i < count ? `, for ${upMs} ms` : ''}`)
    if (i < count) await sleep(upMs)
  }
}
