import { createInterface } from 'node:readline'
import { LogFollower } from '../log-follower.js'
import type { LogFilter } from '../log-filter.js'
import { LogStream } from '../log-stream.js'
import type { LocalSite } from '../local-site.js'

export interface LogsOptions {
  follow: boolean
  /** Canonical server names; undefined: every server. */
  servers?: string[] | undefined
  events?: string[] | undefined
  json: boolean
  colour: boolean
}

/** Until Ctrl-C or SIGTERM. */
export async function untilInterrupted (): Promise<void> {
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
}

/** Prints the site's logs and the CLI's actions, merged in time order; with `follow`, keeps printing new lines until Ctrl-C. */
export async function showLogs (site: LocalSite, opts: LogsOptions, out: (line: string) => void): Promise<void> {
  const stream = new LogStream({ json: opts.json, colour: opts.colour, filter: { servers: opts.servers, events: opts.events } }, out)
  const follower = new LogFollower(site.logFiles, (file, line) => stream.add(line, file))
  follower.poll()
  if (!opts.follow) {
    stream.end()
    return
  }
  stream.pump()
  follower.follow()
  stream.follow()
  await untilInterrupted()
  follower.stop()
  stream.stop()
}

/** `xcon logs --pretty`: reads JSON log lines on stdin (from a file or `docker compose logs`) and prints them readably, in the order given. */
export async function prettyStdin (colour: boolean, out: (line: string) => void, filter: LogFilter): Promise<void> {
  const stream = new LogStream({ json: false, colour, filter }, out)
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  // Followed input (docker compose logs -f | …) may go quiet: after a second of nothing, show the folded counts.
  let lastLineAt = Date.now()
  const idle = setInterval(() => { if (Date.now() - lastLineAt > 1000) stream.end() }, 1000)
  for await (const raw of rl) {
    lastLineAt = Date.now()
    // docker compose prefixes "srv-a  | "; keep whatever precedes the JSON out of the way.
    const at = raw.indexOf('{')
    stream.add(at > 0 ? raw.slice(at) : raw)
    // Stdin is already in its own order (a file, or compose's merge): print as it comes, folding repeats.
    stream.flushLines()
  }
  clearInterval(idle)
  stream.end()
}
