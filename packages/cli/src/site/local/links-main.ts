#!/usr/bin/env node
import { appendActionLine } from '../site-action-log.js'
import { readSiteState, sitePaths, updateSiteState } from './site-state.js'
import { LinkApi, type LinkApiChange } from '../../links/link-api.js'
import { SiteProxies } from '../../links/site-proxies.js'

/**
 * The links process of `xcon up --links` (xcon-links): a proxy on every directed link of a local
 * site, and the Toxiproxy-compatible API over them, for as long as the site runs. Its own
 * process, so that it outlives a detached `xcon up` and serves every terminal's commands.
 * Every change made through the API goes into the site's log stream (tag "action").
 */
async function main (): Promise<void> {
  const dataDir = process.argv[process.argv.indexOf('--data') + 1]
  if (dataDir === undefined || !process.argv.includes('--data')) throw new Error('usage: links-main --data DIR')
  const state = readSiteState(dataDir)
  const links = state.links
  if (links === undefined) throw new Error(`the site under ${dataDir} was not started with --links`)
  const servers = Object.values(state.servers)
  const actions = sitePaths(dataDir).actions
  const siteOf = (name: string): string => state.servers[name]?.site ?? ''
  const log = (change: LinkApiChange): void => {
    const server = change.links[0]?.from ?? 'xcon-links'
    appendActionLine(actions, {
      level: change.action === 'toxic' || change.action === 'disable' || change.action === 'partition' ? 'warn' : 'info',
      server,
      site: siteOf(server),
      action: change.action,
      links: change.links.map(l => l.name),
      msg: `link API: ${change.text}`
    })
  }
  const site = await SiteProxies.open(servers.map(s => s.name), name => ({ host: '127.0.0.1', port: state.servers[name]!.port }), { ports: links.ports })
  const api = await LinkApi.serve(site, log, links.apiPort)
  // Taken in the meantime (by another site's links): the port it got is the one status shows.
  if (api.port !== links.apiPort) updateSiteState(dataDir, s => { s.links!.apiPort = api.port })
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg: `xcon-links: ${site.all().length} links, Toxiproxy API on ${api.url}` })}\n`)
  let closing = false
  const close = (): void => {
    if (closing) return
    closing = true
    void Promise.all([api.close(), site.close()]).finally(() => process.exit(0))
    setTimeout(() => process.exit(0), 3000).unref()
  }
  process.on('SIGTERM', close)
  process.on('SIGINT', close)
}

main().catch((err: Error) => {
  process.stderr.write(`xcon-links: ${err.message}\n`)
  process.exit(2)
})
