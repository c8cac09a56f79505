import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { DockerSite } from './docker-site.js'
import { LogFollower } from '../../logs/log-follower.js'
import { LogStream } from '../../logs/log-stream.js'
import type { StackSite } from './stack-site.js'
import type { LogsOptions } from '../site-backend.js'

/**
 * `docker compose logs [-f] [services]`, or `docker service logs` once per server of a stack,
 * with the CLI's actions merged in, in time order: each JSON line made readable (a "srv-a  | "
 * prefix dropped), filtered and folded as `xcon logs`.
 */
export async function dockerLogs (site: DockerSite | StackSite, opts: LogsOptions, out: (line: string) => void): Promise<void> {
  const stream = new LogStream({ json: opts.json, colour: opts.colour, filter: { servers: opts.servers, events: opts.events } }, out)
  const commands = 'stack' in site
    ? (opts.servers ?? site.names).map(n => site.logsArgv(n, opts.follow, opts.fromNow === true))
    : [await site.argv(['logs', '--no-color', ...(opts.follow ? ['-f'] : []), ...(opts.fromNow === true ? ['--tail', '0'] : []), ...(opts.servers?.map(s => site.service(s)) ?? [])])]
  const actions = new LogFollower([site.actionLogFile], (file, line) => stream.add(line, file), opts.fromNow !== true)
  actions.poll()
  const children = commands.map(([cmd, ...argv]) => spawn(cmd!, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: 'env' in site ? site.env : process.env }))
  const stop = (): void => { for (const c of children) c.kill('SIGTERM') }
  if (opts.signal !== undefined) opts.signal.addEventListener('abort', stop, { once: true })
  else {
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  }
  if (opts.follow) {
    actions.follow()
    stream.follow()
  }
  await Promise.all(children.map(async (child, i) => {
    const rl = createInterface({ input: child.stdout!, crlfDelay: Infinity })
    for await (const raw of rl) {
      const at = raw.indexOf('{')
      const bar = raw.indexOf('|')
      stream.add(at >= 0 ? raw.slice(at) : raw, bar > 0 ? raw.slice(0, bar).trim() : String(i))
    }
  }))
  process.off('SIGINT', stop)
  process.off('SIGTERM', stop)
  actions.stop()
  stream.stop()
}
