import { existsSync, rmSync, statfsSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DISK_BALLAST_FILE } from '@xcon/mta'
import { drawIncident, serializeTopology, type Incident, type Topology } from '@xcon/core'
import { loadTopology } from '../site/local/local-site.js'
import { sitePaths } from '../site/local/site-state.js'
import { readGameday } from './gameday-state.js'

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

