import { CliError } from '../../cli-error.js'
import type { LocalSite } from './local-site.js'
import { readSiteState } from './site-state.js'
import { linkApiUrl, linksState } from './local-links.js'
import { XCON } from '../../invocation.js'

/** The link API of a local site started with --links, or an error that says how to get one. */
function apiOf (site: LocalSite): string {
  const links = readSiteState(site.dataDir).links
  if (links === undefined) throw new CliError(`partition and heal act on a local site's links, and ${site.label} has none: start it with "${XCON} up --links" (or use --docker)`, 2)
  if (links.servedBy === undefined && linksState(site.dataDir) === 'down') throw new CliError(`the links process of ${site.label} is down: "${XCON} up --links" again`)
  return linkApiUrl(links)
}

async function call (url: string, init: RequestInit): Promise<Response> {
  const res = await fetch(url, init)
  if (!res.ok) throw new CliError(`${init.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`)
  return res
}

/** `xcon partition SERVER [--from PEER...]` on local links: a black hole both ways (the partition toxic). */
export async function partitionLocal (site: LocalSite, target: string, from: string[] | undefined): Promise<string> {
  const name = site.resolve(target)
  const others = (from ?? site.names).map(n => site.resolve(n)).filter(n => n !== name)
  const res = await call(`${apiOf(site)}/xcon/partition`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ groups: [[name], others] }) })
  const { links } = await res.json() as { links: string[] }
  return `${name} cut off from ${others.join(', ')}: ${links.length} links black-holed (the xcon_partition toxic)`
}

/** `xcon heal` on local links: every partition toxic removed, every disabled link enabled. */
export async function healLocal (site: LocalSite): Promise<void> {
  await call(`${apiOf(site)}/xcon/partition`, { method: 'DELETE' })
}
