import { LogFollower } from '../../logs/log-follower.js'
import { LogStream } from '../../logs/log-stream.js'
import { untilInterrupted } from '../../logs/until-interrupted.js'
import type { LogsOptions } from '../site-backend.js'

/** Prints the site's logs and the CLI's actions, merged in time order; with `follow`, keeps printing new lines until Ctrl-C. */
export async function showLogs (site: { logFiles: string[] }, opts: LogsOptions, out: (line: string) => void): Promise<void> {
  const stream = new LogStream({ json: opts.json, colour: opts.colour, filter: { servers: opts.servers, events: opts.events } }, out)
  const follower = new LogFollower(site.logFiles, (file, line) => stream.add(line, file), opts.fromNow !== true)
  follower.poll()
  if (!opts.follow) {
    stream.end()
    return
  }
  stream.pump()
  follower.follow()
  stream.follow()
  await untilInterrupted(opts.signal)
  follower.stop()
  stream.stop()
}
