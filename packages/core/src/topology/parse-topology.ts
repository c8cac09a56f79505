import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
import { DEFAULT_BUILD, parseBuild } from '../builds.js'
import { CONTROL_BLOCKS, LEAK_PROBABILITY, MAX_CONTROL_BLOCKS, MIN_CONTROL_BLOCKS, QUEUE_ALARM, TIME_SCALE, isControlBlockCount } from '../defaults.js'
import { TopologyError, XconError } from '../errors.js'
import { FAILURE_KINDS, type FailureKind } from '../association/association.events.js'
import { DEFAULT_LEAK_KINDS } from '../pool/leak-policy.js'
import { PRIORITIES, type Priority } from '../message.js'
import {
  CONNECTOR_TYPES, DEFAULT_CONTENT_BYTES, DEFAULT_MAILBOX_COUNT, SERVER_NAME, TRAFFIC_LEVELS,
  type ConnectorSpec, type ConnectorType, type ImsSpec, type ServerSpec, type SiteSpec, type Topology, type TrafficSpec
} from './topology.js'

/** Default SMTP domain: .test is reserved (RFC 2606), so no mail of a test can reach a real domain. */
export const DEFAULT_DOMAIN = 'xcon.test'

type Path = Array<string | number>
const SERVER_KEYS = ['build', 'timeScale', 'controlBlocks', 'traffic', 'leak', 'queueAlarm', 'mailboxes', 'host', 'port', 'adminHost', 'adminPort', 'ims'] as const

/**
 * Parses a topology (YAML or JSON text) into a fully resolved Topology. Every problem is a
 * TopologyError naming `file`, the line, and what is wrong, e.g.
 * `site.yaml:7: sites.CORP.servers[2]: "SRV_C" is not a server name (letters, digits, hyphens, at most 15)`.
 *
 * ```yaml
 * organization: XCON          # optional
 * sites:
 *   CORP:
 *     secret: change-me
 *     servers: [SRV-A, SRV-B, SRV-C]
 * defaults: { build: 2650, timeScale: 600, controlBlocks: 8, traffic: off }
 * servers:
 *   SRV-C: { build: 2653 }
 * ```
 */
export function parseTopology (text: string, file: string): Topology {
  // The YAML document is only needed for YAML text and for the line of a problem. JSON (the
  // topology.json every local MTA reads) takes JSON.parse: 0.3 ms instead of 140 ms for 100
  // servers, on every start of every MTA and every CLI command.
  let located: { doc: Document, lineCounter: LineCounter } | undefined
  const locate = (): { doc: Document, lineCounter: LineCounter } => {
    if (located !== undefined) return located
    const lineCounter = new LineCounter()
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
    const firstError = doc.errors[0]
    if (firstError !== undefined) {
      throw new TopologyError(file, lineCounter.linePos(firstError.pos[0]).line, firstError.message.split('\n')[0]!)
    }
    located = { doc, lineCounter }
    return located
  }
  const fail = (path: Path, problem: string): never => {
    const { doc, lineCounter } = locate()
    throw new TopologyError(file, lineOf(doc, lineCounter, path), path.length > 0 ? `${formatPath(path)}: ${problem}` : problem)
  }
  const root = parseJson(text) ?? locate().doc.toJS() as unknown
  if (!isRecord(root)) fail([], 'expected a map with "sites" (and optionally "defaults", "servers", "organization")')
  const top = root as Record<string, unknown>
  knownKeys(top, [], ['organization', 'domain', 'adminToken', 'sites', 'defaults', 'servers', 'connectors'], fail)

  const organization = top.organization === undefined ? 'XCON' : text1(top.organization, ['organization'], fail)
  const domain = top.domain === undefined ? DEFAULT_DOMAIN : text1(top.domain, ['domain'], fail).toLowerCase()
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain)) fail(['domain'], `"${domain}" is not a domain name (like corp.example)`)
  const adminToken = top.adminToken === undefined ? undefined : text1(top.adminToken, ['adminToken'], fail)
  const defaults = top.defaults === undefined ? {} : record(top.defaults, ['defaults'], fail)
  knownKeys(defaults, ['defaults'], SERVER_KEYS, fail)
  const sitesIn = record(top.sites, ['sites'], fail)
  if (Object.keys(sitesIn).length === 0) fail(['sites'], 'name at least one site')

  // No prototype: names from the network (a connector path, a mail domain) are looked up in these, and `constructor` must not be found.
  const sites: Record<string, SiteSpec> = Object.create(null)
  const siteOf = new Map<string, string>()
  for (const [siteName, raw] of Object.entries(sitesIn)) {
    const path = ['sites', siteName]
    const site = record(raw, path, fail)
    knownKeys(site, path, ['secret', 'servers'], fail)
    const secret = text1(site.secret, [...path, 'secret'], fail)
    const names = list(site.servers, [...path, 'servers'], fail)
    if (names.length === 0) fail([...path, 'servers'], 'a site needs at least one server')
    names.forEach((n, i) => {
      const at = [...path, 'servers', i]
      if (typeof n !== 'string' || !SERVER_NAME.test(n)) fail(at, `${JSON.stringify(n)} is not a server name (letters, digits, hyphens, at most 15)`)
      const name = n as string
      const other = siteOf.get(name.toUpperCase())
      if (other !== undefined) fail(at, `server ${name} is already in site ${other}`)
      siteOf.set(name.toUpperCase(), siteName)
    })
    sites[siteName] = { name: siteName, secret, servers: names as string[] }
  }

  const overrides = top.servers === undefined ? {} : record(top.servers, ['servers'], fail)
  for (const name of Object.keys(overrides)) {
    if (!Object.values(sites).some(s => s.servers.includes(name))) fail(['servers', name], `server ${name} is not listed in any site (names are case-sensitive)`)
  }

  const servers: Record<string, ServerSpec> = Object.create(null)
  for (const site of Object.values(sites)) {
    for (const name of site.servers) {
      const own = overrides[name] === undefined ? {} : record(overrides[name], ['servers', name], fail)
      knownKeys(own, ['servers', name], SERVER_KEYS, fail)
      servers[name] = resolveServer(name, site.name, own, defaults, fail)
    }
  }
  const connectors: Record<string, ConnectorSpec> = Object.create(null)
  const connectorsIn = top.connectors === undefined ? {} : record(top.connectors, ['connectors'], fail)
  for (const [name, raw] of Object.entries(connectorsIn)) connectors[name] = connector(name, raw, sites, fail)
  return { organization, domain, ...(adminToken === undefined ? {} : { adminToken }), sites, servers, connectors }
}

function connector (name: string, raw: unknown, sites: Record<string, SiteSpec>, fail: (p: Path, m: string) => never): ConnectorSpec {
  const path = ['connectors', name]
  const c = record(raw, path, fail)
  knownKeys(c, path, ['type', 'sites', 'bridgeheads', 'cost', 'secret', 'addressSpace'], fail)
  const type = c.type
  if (!CONNECTOR_TYPES.includes(type as ConnectorType)) fail([...path, 'type'], `expected ${CONNECTOR_TYPES.join(' or ')}, got ${JSON.stringify(type)}`)
  const pair = list(c.sites, [...path, 'sites'], fail)
  if (pair.length !== 2) fail([...path, 'sites'], 'a connector joins exactly two sites')
  pair.forEach((s, i) => { if (typeof s !== 'string' || sites[s] === undefined) fail([...path, 'sites', i], `no site ${JSON.stringify(s)} (sites: ${Object.keys(sites).join(', ')})`) })
  if (pair[0] === pair[1]) fail([...path, 'sites'], 'a connector joins two different sites')
  const given = c.bridgeheads === undefined ? {} : record(c.bridgeheads, [...path, 'bridgeheads'], fail)
  const bridgeheads: Record<string, string[]> = Object.create(null)
  for (const site of pair as string[]) {
    const at = [...path, 'bridgeheads', site]
    const b = given[site]
    if (b === undefined) {
      // Q: an X.400 Connector runs between two named MTAs; a Site Connector can use every server.
      if (type === 'x400') fail([...path, 'bridgeheads'], `an X.400 connector names its bridgehead in site ${site}`)
      bridgeheads[site] = [...sites[site]!.servers]
      continue
    }
    const names = typeof b === 'string' ? [b] : list(b, at, fail)
    names.forEach((n, i) => { if (typeof n !== 'string' || !sites[site]!.servers.includes(n)) fail(typeof b === 'string' ? at : [...at, i], `${JSON.stringify(n)} is not a server of site ${site}`) })
    if (type === 'x400' && names.length !== 1) fail(at, 'an X.400 connector has one bridgehead on each side')
    bridgeheads[site] = names as string[]
  }
  for (const site of Object.keys(given)) if (!(pair as string[]).includes(site)) fail([...path, 'bridgeheads', site], `site ${site} is not one of this connector's sites`)
  const cost = c.cost === undefined ? 1 : integer(c.cost, [...path, 'cost'], fail)
  if (cost < 1 || cost > 100) fail([...path, 'cost'], `a cost is from 1 to 100 (as in Exchange), got ${cost}`)
  return {
    name,
    type: type as ConnectorType,
    sites: pair as [string, string],
    bridgeheads,
    cost,
    secret: c.secret === undefined ? `connector:${name}` : text1(c.secret, [...path, 'secret'], fail),
    addressSpace: c.addressSpace === undefined ? '*' : text1(c.addressSpace, [...path, 'addressSpace'], fail)
  }
}

function resolveServer (name: string, site: string, own: Record<string, unknown>, defaults: Record<string, unknown>, fail: (p: Path, m: string) => never): ServerSpec {
  const pick = (key: typeof SERVER_KEYS[number]): [unknown, Path] =>
    own[key] !== undefined ? [own[key], ['servers', name, key]] : [defaults[key], ['defaults', key]]
  const value = <T>(key: typeof SERVER_KEYS[number], fallback: T, read: (v: unknown, p: Path) => T): T => {
    const [v, p] = pick(key)
    return v === undefined ? fallback : read(v, p)
  }
  const build = value('build', DEFAULT_BUILD, (v, p) => {
    try { return parseBuild(v) } catch (err) { return fail(p, (err as XconError).message) }
  })
  const template = (v: unknown, p: Path): string => text1(v, p, fail).replaceAll('{name}', name).replaceAll('{name_lower}', name.toLowerCase())
  const [leakRaw, leakPath] = pick('leak')
  return {
    name,
    site,
    build,
    timeScale: value('timeScale', TIME_SCALE, (v, p) => positive(v, p, fail)),
    controlBlocks: value('controlBlocks', CONTROL_BLOCKS, (v, p) => {
      const n = integer(v, p, fail)
      return isControlBlockCount(n) ? n : fail(p, `control blocks must be from ${MIN_CONTROL_BLOCKS} to ${MAX_CONTROL_BLOCKS} (one is the listener's), got ${n}`)
    }),
    traffic: value('traffic', { rate: 0, size: DEFAULT_CONTENT_BYTES, priority: 'normal' as Priority }, (v, p) => traffic(v, p, fail)),
    leak: leak(leakRaw, leakPath, fail),
    queueAlarm: value('queueAlarm', QUEUE_ALARM, (v, p) => integer(v, p, fail)),
    mailboxes: value('mailboxes', defaultMailboxes(DEFAULT_MAILBOX_COUNT), (v, p) => mailboxes(v, p, fail)),
    host: value('host', '127.0.0.1', template),
    port: value<number | undefined>('port', undefined, (v, p) => port(v, p, fail)),
    adminHost: value('adminHost', '127.0.0.1', template),
    adminPort: value<number | undefined>('adminPort', undefined, (v, p) => port(v, p, fail)),
    // An IMS is one server's, never a default for all.
    ims: own.ims === undefined || own.ims === false ? undefined : ims(own.ims, ['servers', name, 'ims'], fail)
  }
}

function ims (v: unknown, p: Path, fail: (p: Path, m: string) => never): ImsSpec {
  if (v === true) return { host: '127.0.0.1', port: undefined, smartHost: undefined }
  const i = record(v, p, fail)
  knownKeys(i, p, ['host', 'port', 'smartHost'], fail)
  const smartHost = i.smartHost === undefined ? undefined : text1(i.smartHost, [...p, 'smartHost'], fail)
  if (smartHost !== undefined && !/^[^\s:]+:\d{1,5}$/.test(smartHost)) fail([...p, 'smartHost'], `expected host:port, got ${JSON.stringify(smartHost)}`)
  return {
    host: i.host === undefined ? '127.0.0.1' : text1(i.host, [...p, 'host'], fail),
    port: i.port === undefined ? undefined : port(i.port, [...p, 'port'], fail),
    smartHost
  }
}

export function defaultMailboxes (count: number): string[] {
  return Array.from({ length: count }, (_, i) => `user${i + 1}`)
}

function traffic (v: unknown, p: Path, fail: (p: Path, m: string) => never): TrafficSpec {
  const base: TrafficSpec = { rate: 0, size: DEFAULT_CONTENT_BYTES, priority: 'normal' }
  if (v === false) return base
  if (typeof v === 'string') {
    const rate = TRAFFIC_LEVELS[v]
    return rate === undefined ? fail(p, `traffic must be ${Object.keys(TRAFFIC_LEVELS).join(', ')}, a rate in messages per second, or { rate, size, priority }; got ${JSON.stringify(v)}`) : { ...base, rate }
  }
  if (typeof v === 'number') return { ...base, rate: nonNegative(v, p, fail) }
  const t = record(v, p, fail)
  knownKeys(t, p, ['rate', 'size', 'priority'], fail)
  const priority = t.priority ?? 'normal'
  if (!PRIORITIES.includes(priority as Priority)) fail([...p, 'priority'], `must be one of ${PRIORITIES.join(', ')}`)
  return {
    rate: t.rate === undefined ? TRAFFIC_LEVELS.light! : nonNegative(t.rate, [...p, 'rate'], fail),
    size: t.size === undefined ? DEFAULT_CONTENT_BYTES : integer(t.size, [...p, 'size'], fail),
    priority: priority as Priority
  }
}

function leak (v: unknown, p: Path, fail: (p: Path, m: string) => never): ServerSpec['leak'] {
  const base = { kinds: [...DEFAULT_LEAK_KINDS], probability: LEAK_PROBABILITY, seed: undefined as number | undefined }
  if (v === undefined) return base
  const l = record(v, p, fail)
  knownKeys(l, p, ['kinds', 'probability', 'seed'], fail)
  const kinds = l.kinds === undefined
    ? base.kinds
    : list(l.kinds, [...p, 'kinds'], fail).map((k, i) => FAILURE_KINDS.includes(k as FailureKind) ? k as FailureKind : fail([...p, 'kinds', i], `unknown failure kind ${JSON.stringify(k)}; kinds are ${FAILURE_KINDS.join(', ')}`))
  const probability = l.probability === undefined ? base.probability : nonNegative(l.probability, [...p, 'probability'], fail)
  if (probability > 1) fail([...p, 'probability'], `a probability is from 0 to 1, got ${probability}`)
  return { kinds, probability, seed: l.seed === undefined ? undefined : integer(l.seed, [...p, 'seed'], fail) }
}

function mailboxes (v: unknown, p: Path, fail: (p: Path, m: string) => never): string[] {
  if (typeof v === 'number') return defaultMailboxes(integer(v, p, fail))
  return list(v, p, fail).map((m, i) => typeof m === 'string' && /^[A-Za-z0-9._-]+$/.test(m) ? m : fail([...p, i], `${JSON.stringify(m)} is not a mailbox alias`))
}

function port (v: unknown, p: Path, fail: (p: Path, m: string) => never): number {
  const n = integer(v, p, fail)
  return n >= 1 && n <= 65535 ? n : fail(p, `a port is from 1 to 65535, got ${n}`)
}
function integer (v: unknown, p: Path, fail: (p: Path, m: string) => never): number {
  return Number.isInteger(v) && (v as number) >= 0 ? v as number : fail(p, `expected a whole number, got ${JSON.stringify(v)}`)
}
function positive (v: unknown, p: Path, fail: (p: Path, m: string) => never): number {
  return typeof v === 'number' && v > 0 && Number.isFinite(v) ? v : fail(p, `expected a number above 0, got ${JSON.stringify(v)}`)
}
function nonNegative (v: unknown, p: Path, fail: (p: Path, m: string) => never): number {
  return typeof v === 'number' && v >= 0 && Number.isFinite(v) ? v : fail(p, `expected a number of 0 or more, got ${JSON.stringify(v)}`)
}
function text1 (v: unknown, p: Path, fail: (p: Path, m: string) => never): string {
  if (typeof v === 'number') return String(v)
  return typeof v === 'string' && v.length > 0 ? v : fail(p, v === undefined ? 'is missing' : `expected text, got ${JSON.stringify(v)}`)
}
function record (v: unknown, p: Path, fail: (p: Path, m: string) => never): Record<string, unknown> {
  return isRecord(v) ? v : fail(p, v === undefined ? 'is missing' : 'expected a map')
}
function list (v: unknown, p: Path, fail: (p: Path, m: string) => never): unknown[] {
  return Array.isArray(v) ? v : fail(p, v === undefined ? 'is missing' : 'expected a list')
}
function knownKeys (obj: Record<string, unknown>, p: Path, allowed: readonly string[], fail: (p: Path, m: string) => never): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail([...p, key], `unknown key; expected one of ${allowed.join(', ')}`)
  }
}
function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
function formatPath (path: Path): string {
  return path.map((s, i) => typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`).join('')
}

/** The 1-based line of the deepest node that exists along `path` (the key itself for unknown keys). */
function lineOf (doc: Document, counter: LineCounter, path: Path): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const parentPath = path.slice(0, n - 1)
    const last = path[n - 1]
    const parent = n === 0 ? doc.contents : doc.getIn(parentPath, true) as Node | undefined
    let node: Node | undefined | null
    if (n === 0) node = doc.contents
    else if (isMap(parent)) {
      const pair = parent.items.find(it => isScalar(it.key) && String(it.key.value) === String(last))
      node = (pair?.key as Node | undefined) ?? undefined
      if (pair !== undefined && pair.value !== null && isScalar(pair.value)) node = pair.value as Node
    } else if (isSeq(parent) && typeof last === 'number') node = parent.items[last] as Node | undefined
    const offset = node?.range?.[0]
    if (offset !== undefined) return counter.linePos(offset).line
  }
  return undefined
}

/** The value of JSON text that is an object, else undefined (YAML, or JSON of another shape, goes to the YAML parser). */
function parseJson (text: string): unknown {
  if (!text.trimStart().startsWith('{')) return undefined
  try {
    const v = JSON.parse(text) as unknown
    return isRecord(v) ? v : undefined
  } catch { return undefined }
}
