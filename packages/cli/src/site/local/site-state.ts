import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CliError } from '../../cli-error.js'
import { XCON } from '../../invocation.js'

/** One MTA process of a local site, as `xcon up` started it. */
export interface ServerRecord {
  name: string
  site: string
  pid: number | null
  port: number
  adminHost: string
  adminPort: number
  logFile: string
  /** Extra environment every start of this MTA gets (for example XCON_PEER_ADDRESSES of a scenario). */
  env?: Record<string, string>
}

/** The links process of `xcon up --links`: a proxy per directed link, and the Toxiproxy-compatible API. */
export interface LinksRecord {
  pid: number | null
  apiPort: number
  /** Each directed link's port, by name (SRV-A->SRV-B). */
  ports: Record<string, number>
  logFile: string
  /** The scenario runner serves a run's links itself: no links process to start. */
  servedBy?: 'scenario'
}

/** What `xcon up` leaves under the data directory so that the other commands can find the site. */
export interface SiteState {
  dataDir: string
  topologyFile: string
  supervisorPid: number | null
  startedAt: string
  servers: Record<string, ServerRecord>
  links?: LinksRecord
}

export const DEFAULT_DATA_DIR = '.xcon'

export function sitePaths (dataDir: string) {
  const root = resolve(dataDir)
  return {
    root,
    state: join(root, 'site.json'),
    topology: join(root, 'topology.json'),
    stores: join(root, 'data'),
    logs: join(root, 'logs'),
    log: (server: string) => join(root, 'logs', `${server}.log`),
    /** The links process's own output (`xcon up --links`). */
    linksLog: join(root, 'logs', 'xcon-links.out'),
    /** The CLI's own actions (site-action-log.ts), merged into `xcon logs`. */
    actions: join(root, 'logs', 'xcon-actions.log'),
    /** Prometheus file service discovery: every MTA's metrics endpoint (examples/monitoring/prometheus.yml reads it). */
    prometheusTargets: join(root, 'prometheus-targets.json')
  }
}

export function readSiteState (dataDir: string): SiteState {
  const paths = sitePaths(dataDir)
  if (!existsSync(paths.state)) throw new CliError(`no site under ${paths.root}: start one with "${XCON} up" (or name its data directory with --data)`)
  return JSON.parse(readFileSync(paths.state, 'utf8')) as SiteState
}

export function writeSiteState (state: SiteState): void {
  const paths = sitePaths(state.dataDir)
  mkdirSync(paths.root, { recursive: true })
  // Write then rename, so a reader never sees half a file.
  writeFileSync(`${paths.state}.tmp`, JSON.stringify(state, null, 2))
  renameSync(`${paths.state}.tmp`, paths.state)
}

/** Re-reads the state, changes it and writes it back, so that commands run side by side do not undo each other's pids. */
export function updateSiteState (dataDir: string, change: (state: SiteState) => void): SiteState {
  const state = readSiteState(dataDir)
  change(state)
  writeSiteState(state)
  return state
}

/** Finds a server by name, case-insensitively; an unknown name is an error that lists the known ones. */
export function findServer (state: SiteState, name: string): ServerRecord {
  const found = Object.values(state.servers).find(s => s.name.toUpperCase() === name.toUpperCase())
  if (found === undefined) throw new CliError(`unknown MTA "${name}": the site has ${Object.keys(state.servers).join(', ')}`, 2)
  return found
}
