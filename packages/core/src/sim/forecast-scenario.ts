import { parse, stringify } from 'yaml'
import { InvalidConfigError } from '../errors.js'
import { BUILDS, leaksConnectionResources, type Build } from '../builds.js'
import { retryPolicy } from '../queue/retry-policy.js'

/** What a leak forecast asks: this MTA, at this rate of failed connections, for this long. */
export interface ForecastQuestion {
  /** A topology file's text (YAML or JSON); none for a site of the subject and one healthy peer. */
  topologyText?: string | undefined
  /** The MTA whose stop is forecast; by default the topology's first server on a build before SP4. */
  server?: string | undefined
  build?: number | undefined
  controlBlocks?: number | undefined
  failuresPerHour: number
  days: number
  seed: number
}

export interface ForecastScenario {
  yaml: string
  subject: string
  /** The peers whose connections fail, added to the subject's site. */
  failing: string[]
  /** The subject's healthy peers in its site: a 9156 toward one of them is the stop. */
  healthy: string[]
}

/** Failed opens one queue can make in an hour: one per open interval (600 s, Exchange's default). */
const OPENS_PER_HOUR = 3_600_000 / retryPolicy(1).openIntervalMs

/**
 * A scenario that gives one MTA about `failuresPerHour` failed connections for `days`, at
 * Exchange's real timings (timeScale 1), for `xcon simulate` (or `xcon scenario run`, for a month).
 * The failures are its own opens to peers that are down, as in the KB: a queue retries a failed
 * open once per open interval, so a rate above 6 an hour takes more than one failing peer
 * (FAIL-1, FAIL-2, ...). Each failing peer is down for one open interval in every period
 * (always, at 6 an hour), and mail for it arrives three times per open interval, so the queue
 * nearly always has mail to try with. The subject also sends steady mail to its healthy peers,
 * so its first 9156 toward one of them is the stop.
 */
export function forecastScenario (q: ForecastQuestion): ForecastScenario {
  if (!(q.failuresPerHour > 0) || q.failuresPerHour > 600) throw new InvalidConfigError('--failures-per-hour', `${q.failuresPerHour}: expected a rate above 0 and at most 600`)
  const raw = (q.topologyText === undefined
    ? { organization: 'XCON', sites: { FORECAST: { secret: 'forecast', servers: ['SUBJECT', 'HEALTHY'] } }, defaults: { build: 2653 }, servers: { SUBJECT: { build: 2650 } } }
    : parse(q.topologyText)) as { sites?: Record<string, { servers?: string[] }>, servers?: Record<string, Record<string, unknown>>, defaults?: Record<string, unknown> }
  if (typeof raw !== 'object' || raw === null || raw.sites === undefined) throw new InvalidConfigError('--topology', 'expected a topology with sites')
  const sites = Object.entries(raw.sites)
  const all = sites.flatMap(([, s]) => s.servers ?? [])
  raw.servers ??= {}
  raw.defaults ??= {}
  const buildOf = (n: string): number => Number(raw.servers![n]?.build ?? raw.defaults!.build ?? 2650)
  const leaks = (b: number): boolean => b in BUILDS && leaksConnectionResources(b as Build)
  const subject = q.server ?? all.find(n => leaks(buildOf(n))) ?? all[0]
  if (subject === undefined || !all.includes(subject)) throw new InvalidConfigError('--server', `${subject ?? '(none)'} is not a server of the topology (it has ${all.join(', ')})`)
  const [, site] = sites.find(([, s]) => (s.servers ?? []).includes(subject))!
  const healthy = (site.servers ?? []).filter(n => n !== subject)
  if (healthy.length === 0) throw new InvalidConfigError('--topology', `${subject} has no other server in its site: a stop is a 9156 toward a healthy peer of the same site`)
  const peers = Math.ceil(q.failuresPerHour / OPENS_PER_HOUR)
  const failing = Array.from({ length: peers }, (_, i) => { let n = `FAIL-${i + 1}`; while (all.includes(n)) n += 'X'; return n })
  site.servers = [...(site.servers ?? []), ...failing]
  // Exchange's real timings: MTA time is simulated time. Failing peers run SP4, so they never leak themselves.
  raw.defaults.timeScale = 1
  raw.defaults.traffic = 'off'
  for (const s of Object.values(raw.servers)) delete s.timeScale
  raw.servers[subject] = { ...raw.servers[subject], ...(q.build === undefined ? {} : { build: q.build }), ...(q.controlBlocks === undefined ? {} : { controlBlocks: q.controlBlocks }) }
  for (const f of failing) raw.servers[f] = { build: 2653 }

  const interval = retryPolicy(1).openIntervalMs
  const perPeer = q.failuresPerHour / peers
  const periodMs = 3_600_000 / perPeer
  const days = `${q.days}d`
  const faults = failing.map((f, i) => perPeer >= OPENS_PER_HOUR
    ? { at: '0s', kill: f }
    : { at: `${Math.round((i * periodMs) / peers / 1000)}s`, flap: f, down: `${interval / 1000}s`, up: `${Math.round((periodMs - interval) / 1000)}s`, count: Math.ceil((q.days * 86_400_000) / periodMs) + 1 })
  const scenario = {
    name: `forecast-${subject}-${q.failuresPerHour}ph`,
    seed: q.seed,
    duration: days,
    settle: '0s',
    sample: '10m',
    topology: raw,
    traffic: [
      { from: subject, to: healthy, rate: 1 / 300 },
      ...failing.map(f => ({ from: subject, to: [f], rate: 3 / (interval / 1000) }))
    ],
    faults,
    expect: { stops: { [subject]: leaks(q.build ?? buildOf(subject)) }, drainAfterRestart: false, connectorsFlow: false }
  }
  return { yaml: stringify(scenario), subject, failing, healthy }
}
