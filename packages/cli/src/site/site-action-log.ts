import { appendFileSync, mkdirSync } from 'node:fs'
import { LOG_TAG } from '@xcon/core'
import { dirname } from 'node:path'
import type { SiteBackend } from './site-backend.js'

/** What each CLI action is, in the words the log shows. */
const ACTIONS: Record<string, string> = {
  kill: 'killed by xcon kill (SIGKILL, as a crash: its peers see connection failures)',
  stop: 'stopped by xcon stop (a clean closedown)',
  start: 'started by xcon start',
  restart: 'restarted by xcon restart (the Q260167 workaround: its control blocks start over)',
  pause: 'paused by xcon pause (SIGSTOP: its peers time out)',
  resume: 'resumed by xcon resume',
  partition: 'cut off by xcon partition (packets dropped: its peers time out)',
  heal: 'reconnected by xcon heal',
  'fail-node': 'lost with its node (xcon fail-node: every process of the node killed at once, as a power cut)',
  'restore-node': 'started with its node again (xcon restore-node: the node booted and rejoined the swarm)'
}

/**
 * Appends one line of the action shape (tag "action") to the site's action log. Nothing is lost
 * when the write fails: the action happened all the same, with a word on stderr.
 */
export function appendActionLine (file: string, fields: { level: 'info' | 'warn', server: string, site: string, action: string, msg: string, [extra: string]: unknown }): void {
  const { level, server, site, action, msg, ...extra } = fields
  const line = { level, time: new Date().toISOString(), server, site, tag: LOG_TAG.action, action, category: 'xcon', ...extra, msg }
  try {
    mkdirSync(dirname(file), { recursive: true })
    appendFileSync(file, `${JSON.stringify(line)}\n`)
  } catch (err) {
    process.stderr.write(`xcon: could not record "${fields.action} ${fields.server}" in ${file}: ${(err as Error).message}\n`)
  }
}

/**
 * Records what the CLI does to a server in the site's log stream, as a line of the same JSON
 * shape as the MTAs' (tag "action"), so that `xcon logs -f` shows the cause before its effect
 * and `--server SRV-D` shows it with that server's lines.
 */
export function siteActionLog (site: Pick<SiteBackend, 'actionLogFile' | 'siteOf'>): (action: string, server: string, detail?: string) => void {
  return (action, server, detail) => {
    appendActionLine(site.actionLogFile, {
      level: action === 'kill' || action === 'partition' || action === 'fail-node' ? 'warn' : 'info',
      server,
      site: site.siteOf(server),
      action,
      msg: `${ACTIONS[action] ?? `xcon ${action}`}${detail === undefined ? '' : ` ${detail}`}`
    })
  }
}
