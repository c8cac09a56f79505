import { LogFollower } from '../logs/log-follower.js'
import { ensureLinks, linkApiUrl, stopLinks } from '../site/local/local-links.js'
import { LocalSite, loadTopology, type UpOptions } from '../site/local/local-site.js'
import { tryHint } from './try-hint.js'
import { XCON, shellWord } from '../invocation.js'
import { LogStream } from '../logs/log-stream.js'
import { sitePaths, updateSiteState } from '../site/local/site-state.js'
import { existsSync, readdirSync } from 'node:fs'
import { renderStatusTable } from './status-table.js'
import { gatherStatus } from './status.js'
import { untilInterrupted } from '../logs/until-interrupted.js'

/**
 * Starts every MTA of the topology. Detached: returns once all are ready. Foreground: prints
 * the merged logs until Ctrl-C, then closes every MTA down cleanly.
 */
export async function up (opts: UpOptions & { detach: boolean, colour: boolean, explicitData?: string | undefined }, out: (line: string) => void): Promise<LocalSite> {
  // A site's stores outlive it: say so when they come back, since their mail and counters do too.
  const stores = sitePaths(opts.dataDir).stores
  const reused = opts.fresh !== true && existsSync(stores) && readdirSync(stores).length > 0
  const site = await LocalSite.prepare(opts)
  // In the foreground, Ctrl-C is ours from the first MTA on: it closes the site down, at any moment.
  const interrupted = opts.detach ? undefined : untilInterrupted()
  if (!opts.detach) updateSiteState(site.dataDir, s => { s.supervisorPid = process.pid })
  // The links first: every MTA's peers are reached through them.
  await ensureLinks(site.dataDir)
  for (const name of site.names) site.spawn(name)
  const stream = opts.detach ? undefined : new LogStream({ json: false, colour: opts.colour }, out)
  const follower = stream === undefined ? undefined : new LogFollower(site.logFiles, (file, line) => stream.add(line, file), false)
  follower?.follow()
  stream?.follow()
  const closeDown = async (): Promise<void> => {
    // What was folded so far belongs before the closedown (9299) lines.
    follower?.poll()
    stream?.end()
    out('closing the site down…')
    await Promise.all(site.names.map(async n => await site.stop(n)))
    await stopLinks(site.dataDir)
    follower?.stop()
    stream?.stop()
  }
  try {
    const ready = Promise.all(site.names.map(async n => await site.waitReady(n))).then(() => true)
    // Ctrl-C while the MTAs start: close down what started, without waiting for the rest to be ready.
    if (!await Promise.race([ready, ...(interrupted === undefined ? [] : [interrupted.then(() => false)])])) {
      ready.catch(() => undefined)
      await closeDown()
      return site
    }
  } catch (err) {
    follower?.stop()
    stream?.stop()
    await Promise.all(site.names.map(async n => await site.stop(n)))
    await stopLinks(site.dataDir)
    throw err
  }
  // Print every line logged up to readiness (each MTA's 9298) before the table.
  follower?.poll()
  stream?.flushLines()
  out('')
  out(renderStatusTable(await gatherStatus(site)))
  out('')
  out(`Site up: ${site.names.length} MTAs, data and logs under ${site.dataDir}.`)
  if (reused) out(`Reused the stores of the last run under ${site.dataDir}: its queued mail and counters are back (${XCON} up --fresh starts from nothing).`)
  const links = site.state.links
  if (links !== undefined) out(`Links: a proxy on each of the ${Object.keys(links.ports).length} directed links; Toxiproxy API at ${linkApiUrl(links)} (docs/links.md).`)
  // The hint repeats --data when the user gave it, so that every command it names finds this site.
  for (const line of tryHint(loadTopology(opts), opts.explicitData === undefined ? '' : `--data ${shellWord(opts.explicitData)}`)) out(line)
  if (opts.detach) return site
  out('Ctrl-C closes the site down.')
  await interrupted
  await closeDown()
  return site
}
