import { createInterface } from 'node:readline'
import type { LogFilter } from '../logs/log-filter.js'
import { LogStream } from '../logs/log-stream.js'

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
