import { parseKillAt, type KillAt } from './kill-point.js'
import type { AssociationTiming } from '../association/association.machine.js'
import { FAILURE_KINDS, type FailureKind } from '../association/association.events.js'
import { leaksConnectionResources, parseBuild } from '../builds.js'
import {
  BIND_TIMEOUT_MS, CONTROL_BLOCKS, ENVELOPE_HEADROOM_BYTES, HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS,
  MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS, MAX_MESSAGE_BYTES, MAX_RECIPIENTS, MAX_UNBOUND_PER_ADDRESS, MAX_OPENING, BIND_GRACE_MS,
  MIN_FREE_BYTES, NETWORK_TYPE_RPC, OPEN_TIMEOUT_MS, RELEASE_TIMEOUT_MS, TRANSFER_WINDOW, TRANSFER_WINDOW_BYTES,
  TRANSFER_BATCH, TRANSFER_BATCH_BYTES, MAX_TRANSFER_MESSAGES, MIN_CONTROL_BLOCKS, MAX_CONTROL_BLOCKS, isControlBlockCount
} from '../defaults.js'
import { InvalidConfigError, UnknownServerError, XconError } from '../errors.js'
import type { LeakPolicy } from '../pool/leak-policy.js'
import { retryPolicy, type RetryPolicy } from '../queue/retry-policy.js'
import { seedFromText } from '../random.js'
import { TRAFFIC_LEVELS, sitePeers, type ServerSpec, type SiteSpec, type Topology } from '../topology/topology.js'

const CONTROL_BLOCK_RANGE = `a whole number from ${MIN_CONTROL_BLOCKS} to ${MAX_CONTROL_BLOCKS}`

/** Everything one MTA process runs with, resolved and frozen. */
export interface MtaConfig {
  organization: string
  topology: Topology
  server: ServerSpec
  site: SiteSpec
  peers: ServerSpec[]
  retry: RetryPolicy
  timing: AssociationTiming
  leakPolicy: LeakPolicy
  leakSeed: number
  networkType: number
  /** Control blocks of the connector pool (X.400 over TCP/IP, network type 1), which never leaks. */
  connectorControlBlocks: number
  maxFrameBytes: number
  /** Messages in flight on one association. */
  transferWindow: number
  /** Content bytes in flight on one association (at least one message always goes). */
  transferWindowBytes: number
  /** Messages, and content bytes, in one transfer frame at most (one message always goes). */
  transferBatch: number
  transferBatchBytes: number
  limits: MtaLimits
  /** Bearer token the admin API asks for (all but /health); undefined: no token. */
  adminToken: string | undefined
  /** Where the MTA kills itself, for crash tests (XCON_KILL_AT); undefined: nowhere. */
  killAt: KillAt | undefined
  /** Where to reach each peer when it differs from the topology (through a link proxy): name -> host and port. */
  peerAddresses: Record<string, { host: string, port: number }>
}

/** What the MTA takes from the world, each with its variable (docs/configuration.md). */
export interface MtaLimits {
  /** Largest message content at every door (admin API, IMS, transfer). XCON_MAX_MESSAGE_BYTES. */
  maxMessageBytes: number
  /** Most recipients of one message. XCON_MAX_RECIPIENTS. */
  maxRecipients: number
  /** TCP connections to the association port, in total and from one address. */
  maxConnections: number
  maxConnectionsPerAddress: number
  /** Inbound associations not yet bound (their caller has proved nothing), in total and from one address. */
  maxUnbound: number
  maxUnboundPerAddress: number
  /** At a full limit, a caller that has not bound for this long gives its place to a newer one (CallerLimits). XCON_BIND_GRACE_MS. */
  bindGraceMs: number
  /** Outbound associations connecting or binding at once; more wait their turn in the pool. XCON_MAX_OPENING. */
  maxOpening: number
  /** Below this much free space where the store lives, the MTA takes no new mail (event 9411). */
  minFreeBytes: number
}

type Env = Record<string, string | undefined>

/** Reads `SRV-B=127.0.0.1:4001,SRV-C=127.0.0.1:4002` (XCON_PEER_ADDRESSES): peers reached through link proxies. */
function parsePeerAddresses (text: string | undefined, topology: Topology): Record<string, { host: string, port: number }> {
  const out: Record<string, { host: string, port: number }> = {}
  if (text === undefined || text.trim() === '') return out
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z0-9-]+)=([^\s:]+):(\d{1,5})\s*$/.exec(part)
    if (m === null) throw new InvalidConfigError('XCON_PEER_ADDRESSES', `expected SERVER=host:port[,SERVER=host:port…], got "${part}"`)
    if (topology.servers[m[1]!] === undefined) throw new UnknownServerError(m[1]!, Object.keys(topology.servers))
    out[m[1]!] = { host: m[2]!, port: Number(m[3]) }
  }
  return out
}

/**
 * Resolves one server's configuration: the topology's values, then `XCON_*` environment variables
 * (for containers and tests), which win. Throws UnknownServerError or InvalidConfigError naming the
 * variable. The recognised variables are listed in docs/configuration.md.
 */
export function resolveMtaConfig (topology: Topology, serverName: string, env: Env = {}): MtaConfig {
  const base = topology.servers[serverName]
  if (base === undefined) throw new UnknownServerError(serverName, Object.keys(topology.servers))
  const server: ServerSpec = { ...base, leak: { ...base.leak }, traffic: { ...base.traffic } }
  const num = (name: string, check: (n: number) => boolean, what: string): number | undefined => {
    const raw = env[name]
    if (raw === undefined || raw === '') return undefined
    const n = Number(raw)
    if (!Number.isFinite(n) || !check(n)) throw new InvalidConfigError(name, `expected ${what}, got "${raw}"`)
    return n
  }
  if (env.XCON_BUILD !== undefined && env.XCON_BUILD !== '') {
    try { server.build = parseBuild(env.XCON_BUILD) } catch (err) { throw new InvalidConfigError('XCON_BUILD', (err as XconError).message) }
  }
  server.timeScale = num('XCON_TIME_SCALE', n => n > 0, 'a number above 0') ?? server.timeScale
  server.controlBlocks = num('XCON_CONTROL_BLOCKS', isControlBlockCount, CONTROL_BLOCK_RANGE) ?? server.controlBlocks
  server.queueAlarm = num('XCON_QUEUE_ALARM', n => Number.isInteger(n) && n >= 0, 'a whole number') ?? server.queueAlarm
  server.port = num('XCON_PORT', n => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port') ?? server.port
  server.adminPort = num('XCON_ADMIN_PORT', n => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port') ?? server.adminPort
  server.host = env.XCON_HOST !== undefined && env.XCON_HOST !== '' ? env.XCON_HOST : server.host
  server.adminHost = env.XCON_ADMIN_HOST !== undefined && env.XCON_ADMIN_HOST !== '' ? env.XCON_ADMIN_HOST : server.adminHost
  server.leak.probability = num('XCON_LEAK_PROBABILITY', n => n >= 0 && n <= 1, 'a probability from 0 to 1') ?? server.leak.probability
  server.leak.seed = num('XCON_LEAK_SEED', n => Number.isInteger(n), 'a whole number') ?? server.leak.seed
  if (env.XCON_LEAK_KINDS !== undefined && env.XCON_LEAK_KINDS !== '') {
    const kinds = env.XCON_LEAK_KINDS.split(',').map(k => k.trim()).filter(k => k !== '')
    const bad = kinds.find(k => !FAILURE_KINDS.includes(k as FailureKind))
    if (bad !== undefined) throw new InvalidConfigError('XCON_LEAK_KINDS', `unknown failure kind "${bad}"; kinds are ${FAILURE_KINDS.join(', ')}`)
    server.leak.kinds = kinds as FailureKind[]
  }
  if (env.XCON_TRAFFIC !== undefined && env.XCON_TRAFFIC !== '') {
    const named = TRAFFIC_LEVELS[env.XCON_TRAFFIC]
    server.traffic.rate = named ?? num('XCON_TRAFFIC', n => n >= 0, `${Object.keys(TRAFFIC_LEVELS).join(', ')} or messages per second`)!
  }
  const site = { ...topology.sites[server.site]! }
  if (env.XCON_SECRET !== undefined && env.XCON_SECRET !== '') site.secret = env.XCON_SECRET

  const positive = (name: string, fallback: number): number => num(name, n => Number.isInteger(n) && n > 0, 'a whole number above 0') ?? fallback
  const maxMessageBytes = positive('XCON_MAX_MESSAGE_BYTES', MAX_MESSAGE_BYTES)
  const limits: MtaLimits = {
    maxMessageBytes,
    maxRecipients: num('XCON_MAX_RECIPIENTS', n => Number.isInteger(n) && n >= 1 && n <= MAX_RECIPIENTS, `a whole number from 1 to ${MAX_RECIPIENTS}`) ?? MAX_RECIPIENTS,
    maxConnections: positive('XCON_MAX_CONNECTIONS', MAX_CONNECTIONS),
    maxConnectionsPerAddress: positive('XCON_MAX_CONNECTIONS_PER_ADDRESS', MAX_CONNECTIONS_PER_ADDRESS),
    // Strangers may hold at most half the pool while they fail to bind; the rest stays for the site.
    maxUnbound: positive('XCON_MAX_UNBOUND', Math.max(1, Math.floor((server.controlBlocks - 1) / 2))),
    maxUnboundPerAddress: positive('XCON_MAX_UNBOUND_PER_ADDRESS', MAX_UNBOUND_PER_ADDRESS),
    bindGraceMs: num('XCON_BIND_GRACE_MS', n => Number.isInteger(n) && n >= 0, 'a whole number of milliseconds') ?? BIND_GRACE_MS,
    maxOpening: positive('XCON_MAX_OPENING', MAX_OPENING),
    minFreeBytes: num('XCON_MIN_FREE_BYTES', n => Number.isInteger(n) && n >= 0, 'a whole number of bytes') ?? MIN_FREE_BYTES
  }
  const adminToken = env.XCON_ADMIN_TOKEN !== undefined && env.XCON_ADMIN_TOKEN !== '' ? env.XCON_ADMIN_TOKEN : topology.adminToken
  return Object.freeze({
    organization: topology.organization,
    topology,
    server,
    site,
    peers: sitePeers(topology, serverName),
    retry: retryPolicy(server.timeScale),
    timing: {
      openTimeoutMs: positive('XCON_OPEN_TIMEOUT_MS', OPEN_TIMEOUT_MS),
      bindTimeoutMs: positive('XCON_BIND_TIMEOUT_MS', BIND_TIMEOUT_MS),
      heartbeatIntervalMs: positive('XCON_HEARTBEAT_INTERVAL_MS', HEARTBEAT_INTERVAL_MS),
      heartbeatTimeoutMs: positive('XCON_HEARTBEAT_TIMEOUT_MS', HEARTBEAT_TIMEOUT_MS),
      releaseTimeoutMs: RELEASE_TIMEOUT_MS
    },
    leakPolicy: { leaks: leaksConnectionResources(server.build), kinds: server.leak.kinds, probability: server.leak.probability },
    // A server's default seed follows from its name, so two runs of one topology leak alike.
    leakSeed: server.leak.seed ?? seedFromText(`${topology.organization}/${server.name}`),
    networkType: NETWORK_TYPE_RPC,
    connectorControlBlocks: num('XCON_CONNECTOR_CONTROL_BLOCKS', isControlBlockCount, CONTROL_BLOCK_RANGE) ?? CONTROL_BLOCKS,
    // A frame carries one whole message and its envelope (docs/protocol.md).
    maxFrameBytes: positive('XCON_MAX_FRAME_BYTES', maxMessageBytes + ENVELOPE_HEADROOM_BYTES),
    transferWindowBytes: positive('XCON_TRANSFER_WINDOW_BYTES', TRANSFER_WINDOW_BYTES),
    limits,
    adminToken,
    peerAddresses: parsePeerAddresses(env.XCON_PEER_ADDRESSES, topology),
    transferWindow: positive('XCON_TRANSFER_WINDOW', TRANSFER_WINDOW),
    transferBatch: num('XCON_TRANSFER_BATCH', n => Number.isInteger(n) && n >= 1 && n <= MAX_TRANSFER_MESSAGES, `a whole number from 1 to ${MAX_TRANSFER_MESSAGES}`) ?? TRANSFER_BATCH,
    transferBatchBytes: positive('XCON_TRANSFER_BATCH_BYTES', TRANSFER_BATCH_BYTES),
    killAt: parseKillAt(env.XCON_KILL_AT)
  })
}
