import { execFile } from 'node:child_process'
import { existsSync, rmSync, statfsSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { DISK_BALLAST_FILE } from '@xcon/mta'
import { drawIncident, serializeTopology, type Incident, type Topology } from '@xcon/core'
import { CliError } from '../cli-error.js'
import { DockerSite } from '../site/docker/docker-site.js'
import { LocalSite, loadTopology } from '../site/local/local-site.js'
import { sitePaths } from '../site/local/site-state.js'
import type { SiteBackend } from '../site/site-backend.js'
import { gamedayPaths, readGameday, readReady } from './gameday-state.js'

const run = promisify(execFile)
/** Where an MTA's store lives in its container (the image's XCON_DATA_DIR=/data). */
const containerStore = (server: string): string => `/data/${server}/store`

/** The store directory of one MTA of a local site, where its disk guard looks (packages/mta/src/main.ts). */
export const storeDirOf = (dataDir: string, server: string): string => join(sitePaths(dataDir).stores, server, 'store')

/** Fills the disk under an MTA's store as its disk guard sees it: a sparse ballast as large as the free space. */
export function fillDisk (dataDir: string, server: string): void {
  const dir = storeDirOf(dataDir, server)
  const s = statfsSync(dir)
  const file = join(dir, DISK_BALLAST_FILE)
  writeFileSync(file, '')
  truncateSync(file, Number(s.bavail) * Number(s.bsize))
}

/** What the storage team does when asked: every ballast of the site removed. */
export function freeDisks (dataDir: string, servers: string[]): string[] {
  const freed: string[] = []
  for (const n of servers) {
    const file = join(storeDirOf(dataDir, n), DISK_BALLAST_FILE)
    if (existsSync(file)) { rmSync(file); freed.push(n) }
  }
  return freed
}

/** The incident of a game day, drawn again from what its state keeps, and the site's topology with the MTAs' own traffic off. */
export function gamedayIncident (dataDir: string): { incident: Incident, topology: Topology, topologyText: string } {
  const state = readGameday(dataDir)
  // The game day's own traffic is the one the checker counts: the MTAs generate none.
  const topology = loadTopology({ topologyFile: state.topologyFile, traffic: 'off' })
  return { incident: drawIncident(topology, state.seed, { name: state.incident, level: state.level }), topology, topologyText: JSON.stringify(serializeTopology(topology), null, 2) }
}

/** The game day's site, whichever backend runs it: the local site under the data directory, or the runner's compose project. */
export async function gamedaySite (dataDir: string): Promise<SiteBackend> {
  const state = readGameday(dataDir)
  if (state.backend === 'local') return LocalSite.open(dataDir)
  const compose = readReady(dataDir)?.compose
  if (compose === undefined) throw new CliError(`the game day's containers are not up yet; see ${gamedayPaths(dataDir).log}`)
  return await DockerSite.open(compose)
}

/** A container's id, for docker exec. */
async function containerId (site: DockerSite, server: string): Promise<string> {
  const c = await site.container(server)
  if (c === undefined) throw new CliError(`${server} has no container in ${site.label}`)
  return c.id
}

/** Fills an MTA's disk as its disk guard sees it, on either backend (a sparse ballast: no real space). */
export async function fillDiskOf (dataDir: string, site: SiteBackend, server: string): Promise<void> {
  if (site.kind !== 'docker') { fillDisk(dataDir, server); return }
  const dir = containerStore(server)
  const script = `const fs=require('fs');const s=fs.statfsSync(${JSON.stringify(dir)});const f=${JSON.stringify(`${dir}/${DISK_BALLAST_FILE}`)};fs.writeFileSync(f,'');fs.truncateSync(f,Number(s.bavail)*Number(s.bsize))`
  await run('docker', ['exec', await containerId(site as DockerSite, server), 'node', '-e', script])
}

/** What the storage team does, on either backend: every ballast of the site removed; the servers freed. */
export async function freeDisksOf (dataDir: string, site: SiteBackend): Promise<string[]> {
  if (site.kind !== 'docker') return freeDisks(dataDir, site.names)
  const freed: string[] = []
  for (const n of site.names) {
    const file = `${containerStore(n)}/${DISK_BALLAST_FILE}`
    try {
      const id = await containerId(site as DockerSite, n)
      const { stdout } = await run('docker', ['exec', id, 'sh', '-c', `test -e ${file} && rm -f ${file} && echo freed || true`])
      if (stdout.includes('freed')) freed.push(n)
    } catch { /* a container that is down has no disk to free */ }
  }
  return freed
}
