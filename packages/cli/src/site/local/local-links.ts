import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { linkName } from '@xcon/core'
import { CliError } from '../../cli-error.js'
import { portIsFree } from '../free-ports.js'
import { isLinksProcess, processState, signal, waitForExit, type ProcessState } from './processes.js'
import { readSiteState, sitePaths, updateSiteState, type LinksRecord } from './site-state.js'
import { TOXIPROXY_PORT } from '../../links/link-api.js'
import { XCON } from '../../invocation.js'
import { waitUntil } from '../../wait-until.js'

const LINKS_MAIN = join(dirname(fileURLToPath(import.meta.url)), 'links-main.js')

/**
 * The links process of a local site started with `xcon up --links`: where it listens (chosen
 * once, kept in site.json, so that every MTA's XCON_PEER_ADDRESSES stays right across
 * restarts), starting it, finding it, stopping it.
 */
export async function chooseLinks (dataDir: string, servers: readonly string[], pool: number[]): Promise<LinksRecord> {
  const ports: Record<string, number> = {}
  for (const a of servers) for (const b of servers) if (a !== b) ports[linkName(a, b)] = pool.pop()!
  const apiPort = await portIsFree(TOXIPROXY_PORT) ? TOXIPROXY_PORT : pool.pop()!
  return { pid: null, apiPort, ports, logFile: sitePaths(dataDir).linksLog }
}

/** How many ports `chooseLinks` takes from the pool at most: one per link, one for the API. */
export const linkPortCount = (servers: number): number => servers * (servers - 1) + 1

/** Each MTA's peers, through its links: the value of its XCON_PEER_ADDRESSES. */
export function peerAddressesVia (links: LinksRecord, from: string, servers: readonly string[]): string {
  return servers.filter(b => b !== from).map(b => `${b}=127.0.0.1:${links.ports[linkName(from, b)]!}`).join(',')
}

export function linksState (dataDir: string): ProcessState {
  const links = readSiteState(dataDir).links
  return links === undefined ? 'down' : processState(links.pid, sitePaths(dataDir).root, isLinksProcess)
}

/** Starts the links process unless it runs, and waits until its API answers. */
export async function ensureLinks (dataDir: string, timeoutMs = 10_000): Promise<void> {
  const root = sitePaths(dataDir).root
  const links = readSiteState(dataDir).links
  if (links === undefined || links.servedBy !== undefined || linksState(dataDir) !== 'down') return
  const out = openSync(links.logFile, 'a')
  const child = spawn(process.execPath, [LINKS_MAIN, '--data', root], { detached: true, stdio: ['ignore', out, out] })
  closeSync(out)
  child.unref()
  updateSiteState(dataDir, s => { s.links!.pid = child.pid ?? null })
  // A refused request is "not yet"; the process gone is the end of the wait.
  const seen = await waitUntil(async () => processState(child.pid ?? null, root, isLinksProcess) === 'down'
    ? 'exited'
    : (await fetch(`http://127.0.0.1:${readSiteState(dataDir).links!.apiPort}/version`, { signal: AbortSignal.timeout(1000) })).ok && 'ready', { timeoutMs })
  if (seen === 'ready') return
  const said = (() => { try { return readFileSync(links.logFile, 'utf8').trim().split('\n').at(-1) ?? '' } catch { return '' } })()
  throw new CliError(`the links process did not start (${said === '' ? `no answer on port ${links.apiPort}` : said}); see ${links.logFile}`)
}

/** SIGTERM, and SIGKILL after 5 s. */
export async function stopLinks (dataDir: string): Promise<boolean> {
  const root = sitePaths(dataDir).root
  const links = readSiteState(dataDir).links
  if (links === undefined || links.pid === null || linksState(dataDir) === 'down') return false
  signal(links.pid, 'SIGTERM')
  if (!await waitForExit(links.pid, root, 5000, isLinksProcess)) signal(links.pid, 'SIGKILL')
  return true
}

/** The API's address, for status and the README's calls. */
export function linkApiUrl (links: LinksRecord): string {
  return `http://127.0.0.1:${links.apiPort}`
}

/** `status --json`'s `links`: where the API is, how many proxies, whether the links process runs. */
export function linksStatus (dataDir: string): { api: string, port: number, proxies: number, state: ProcessState | 'in the scenario runner' } | undefined {
  const links = readSiteState(dataDir).links
  if (links === undefined) return undefined
  return { api: linkApiUrl(links), port: links.apiPort, proxies: Object.keys(links.ports).length, state: links.servedBy === 'scenario' ? 'in the scenario runner' : linksState(dataDir) }
}

/** Why `--links` is refused on containers, and what works there instead. */
export const NO_LINKS_ON_DOCKER = '--links runs a proxy on every directed link of a local site, with the Toxiproxy-compatible API over them; it is not offered for containers. ' +
  `On a compose project, cut links with "${XCON} partition SERVER [--from PEER]" and "${XCON} heal" (packet filters on the container network), or run a scenario with --backend docker; ` +
  `for the API, run the site locally: ${XCON} up --links`
