import { LogFollower } from '../log-follower.js'
import { LocalSite, type UpOptions } from '../local-site.js'
import { formatLogLine } from '../pretty-log.js'
import { updateSiteState } from '../site-state.js'
import { renderStatusTable } from '../status-table.js'
import { gatherStatus } from './status.js'

/**
 * Starts every MTA of the topology. Detached: returns once all are ready. Foreground: prints
 * the merged logs until Ctrl-C, then closes every MTA down cleanly.
 */
export async function up (opts: UpOptions & { detach: boolean, colour: boolean }, out: (line: string) => void): Promise<LocalSite> {
  const site = await LocalSite.prepare(opts)
  if (!opts.detach) updateSiteState(site.dataDir, s => { s.supervisorPid = process.pid })
  for (const name of site.names) site.spawn(name)
  const follower = opts.detach ? undefined : new LogFollower(site.names.map(n => site.server(n).logFile), (_, line) => out(formatLogLine(line, opts.colour)), false)
  follower?.follow()
  try {
    await Promise.all(site.names.map(async n => await site.waitReady(n)))
  } catch (err) {
    follower?.stop()
    await Promise.all(site.names.map(async n => await site.stop(n)))
    throw err
  }
  // Print every line logged up to readiness (each MTA's 9298) before the table.
  follower?.poll()
  out('')
  out(renderStatusTable(await gatherStatus(site)))
  out('')
  out(`Site up: ${site.names.length} MTAs, data and logs under ${site.dataDir}.`)
  out(`Try: xcon kill ${site.names.at(-1) ?? 'SRV-D'}   then watch for 9156 with: xcon logs -f   and recover with: xcon restart <server>`)
  if (opts.detach) return site
  out('Ctrl-C closes the site down.')
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  out('closing the site down…')
  await Promise.all(site.names.map(async n => await site.stop(n)))
  follower?.stop()
  return site
}
