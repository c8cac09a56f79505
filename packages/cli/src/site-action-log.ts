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
  heal: 'reconnected by xcon heal'
}

/**
 * Records what the CLI does to a server in the site's log stream, as a line of the same JSON
 * shape as the MTAs' (tag "action"), so that `xcon logs -f` shows the cause before its effect
 * and `--server SRV-D` shows it with that server's lines. Nothing is lost when the write fails:
 * the action happens all the same, with a word on stderr.
 */
export function siteActionLog (site: Pick<SiteBackend, 'actionLogFile' | 'siteOf'>): (action: string, server: string, detail?: string) => void {
  return (action, server, detail) => {
    const line = {
      level: action === 'kill' || action === 'partition' ? 'warn' : 'info',
      time: new Date().toISOString(),
      server,
      site: site.siteOf(server),
      tag: LOG_TAG.action,
      action,
      category: 'xcon',
      msg: `${ACTIONS[action] ?? `xcon ${action}`}${detail === undefined ? '' : ` ${detail}`}`
    }
    try {
      mkdirSync(dirname(site.actionLogFile), { recursive: true })
      appendFileSync(site.actionLogFile, `${JSON.stringify(line)}\n`)
    } catch (err) {
      process.stderr.write(`xcon: could not record "${action} ${server}" in ${site.actionLogFile}: ${(err as Error).message}\n`)
    }
  }
}
