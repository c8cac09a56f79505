import type { SiteBackend } from '../site/site-backend.js'

/** What `xcon kill|stop|start|restart|pause|resume` and the dashboard's buttons do to an MTA. */
export const LIFECYCLE_VERBS = ['kill', 'stop', 'start', 'restart', 'pause', 'resume'] as const
export type LifecycleVerb = typeof LIFECYCLE_VERBS[number]

export function isLifecycleVerb (v: unknown): v is LifecycleVerb {
  return typeof v === 'string' && (LIFECYCLE_VERBS as readonly string[]).includes(v)
}

/** One verb on one (resolved) server, logged to the site's action log first, whoever asked. */
export async function applyVerb (b: SiteBackend, verb: LifecycleVerb, name: string, log: (action: string, server: string) => void): Promise<void> {
  log(verb, name)
  switch (verb) {
    case 'kill': return await b.kill(name)
    case 'stop': return await b.stop(name)
    case 'start': return await b.start(name)
    case 'restart': return await b.restart(name)
    case 'pause': return await b.pause(name)
    case 'resume': return await b.resume(name)
  }
}
