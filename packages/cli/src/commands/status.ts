import type { SiteBackend } from '../site/site-backend.js'
import type { MtaStatusEntry } from './status-table.js'

/**
 * Gathers every MTA's /status, all at once. A process that is down or paused cannot answer; its
 * entry says so in `state` and carries nulls, so that the JSON always has one entry per server.
 */
export async function gatherStatus (site: SiteBackend): Promise<MtaStatusEntry[]> {
  return await Promise.all(site.names.map(async (name): Promise<MtaStatusEntry> => {
    const proc = await site.processState(name)
    const s = proc === 'running' ? await site.fetchStatus(name) : undefined
    const metricsUrl = await site.metricsUrl(name)
    const node = await site.nodeOf(name) ?? {}
    if (s === undefined) {
      return { name, site: site.siteOf(name), build: null, state: proc === 'running' ? 'unresponsive' : proc, controlBlocks: null, queues: [], delivered: null, duplicatesSuppressed: null, ndrs: null, metricsUrl, ...node }
    }
    return { ...s, controlBlocks: { ...s.controlBlocks, exhausted: s.controlBlocks.free === 0 }, metricsUrl, ...node }
  }))
}
