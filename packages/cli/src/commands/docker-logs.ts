import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { DockerSite } from '../docker-site.js'
import { LogFollower } from '../log-follower.js'
import { LogStream } from '../log-stream.js'
import type { LogsOptions } from './logs.js'

/**
 * `docker compose logs [-f] [services]` with the CLI's actions merged in, in time order: each
 * JSON line made readable (the "srv-a  | " prefix dropped), filtered and folded as `xcon logs`.
 */
export async function dockerLogs (site: DockerSite, opts: LogsOptions, out: (line: string) => void): Promise<void> {
  const stream = new LogStream({ json: opts.json, colour: opts.colour, filter: { servers: opts.servers, events: opts.events } }, out)
  const services = opts.servers?.map(s => site.service(s)) ?? []
  const [cmd, ...argv] = await site.argv(['logs', '--no-color', ...(opts.follow ? ['-f'] : []), ...services])
  const actions = new LogFollower([site.actionLogFile], (file, line) => stream.add(line, file))
  actions.poll()
  const child = spawn(cmd!, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: site.env })
  const stop = (): void => { child.kill('SIGTERM') }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  if (opts.follow) {
    actions.follow()
    stream.follow()
  }
  const rl = createInterface({ input: child.stdout, crlfDelay: Infinity })
  for await (const raw of rl) {
    const at = raw.indexOf('{')
    const bar = raw.indexOf('|')
    stream.add(at >= 0 ? raw.slice(at) : raw, bar > 0 ? raw.slice(0, bar).trim() : '')
  }
  process.off('SIGINT', stop)
  process.off('SIGTERM', stop)
  actions.stop()
  stream.stop()
}
