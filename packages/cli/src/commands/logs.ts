import { createInterface } from 'node:readline'
import { LogFollower } from '../log-follower.js'
import type { LocalSite } from '../local-site.js'
import { formatLogLine, parseLogLine } from '../pretty-log.js'

export interface LogsOptions {
  follow: boolean
  server?: string | undefined
  json: boolean
  colour: boolean
}

/** Prints the site's logs, merged in time order; with `follow`, keeps printing new lines until Ctrl-C. */
export async function showLogs (site: LocalSite, opts: LogsOptions, out: (line: string) => void): Promise<void> {
  const names = opts.server === undefined ? site.names : [site.server(opts.server).name]
  const files = names.map(n => site.server(n).logFile)
  const render = (line: string): string => opts.json ? line : formatLogLine(line, opts.colour)
  const backlog: string[] = []
  const follower = new LogFollower(files, (_, line) => backlog.push(line))
  follower.poll()
  const time = (line: string): string => parseLogLine(line)?.time ?? ''
  backlog.sort((a, b) => time(a) < time(b) ? -1 : time(a) > time(b) ? 1 : 0).forEach(l => out(render(l)))
  if (!opts.follow) return
  const live = new LogFollower(files, (_, line) => out(render(line)), false)
  live.follow()
  await new Promise<void>(resolve => {
    const done = (): void => { live.stop(); resolve() }
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
}

/** `xcon logs --pretty`: reads JSON log lines on stdin (from a file or `docker compose logs`) and prints them readably. */
export async function prettyStdin (colour: boolean, out: (line: string) => void): Promise<void> {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const raw of rl) {
    // docker compose prefixes "srv-a  | "; keep whatever precedes the JSON out of the way.
    const at = raw.indexOf('{')
    out(at > 0 ? formatLogLine(raw.slice(at), colour) : formatLogLine(raw, colour))
  }
}
