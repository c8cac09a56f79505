import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { DockerSite } from '../docker-site.js'
import { formatLogLine } from '../pretty-log.js'

/** `docker compose logs [-f] [service]`, each JSON line made readable (the "srv-a  | " prefix dropped). */
export async function dockerLogs (site: DockerSite, opts: { follow: boolean, server?: string | undefined, json: boolean, colour: boolean }, out: (line: string) => void): Promise<void> {
  const args = ['logs', '--no-color', ...(opts.follow ? ['-f'] : []), ...(opts.server === undefined ? [] : [site.service(opts.server)])]
  const [cmd, ...argv] = site.argv(args)
  const child = spawn(cmd!, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: site.env })
  const stop = (): void => { child.kill('SIGTERM') }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const rl = createInterface({ input: child.stdout, crlfDelay: Infinity })
  for await (const raw of rl) {
    const at = raw.indexOf('{')
    const line = at >= 0 ? raw.slice(at) : raw
    out(opts.json ? line : formatLogLine(line, opts.colour))
  }
  process.off('SIGINT', stop)
  process.off('SIGTERM', stop)
}
