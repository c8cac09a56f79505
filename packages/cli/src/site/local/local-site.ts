import type { MtaStatusDocument } from '@xcon/core'
import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  DEFAULT_TOPOLOGY_YAML, MAX_CONTROL_BLOCKS, MIN_CONTROL_BLOCKS, allServers, isControlBlockCount, parseBuild, parseTopology, serializeTopology, TRAFFIC_LEVELS, XconError,
  type Topology
} from '@xcon/core'
import { AdminClient, type DeliveryRecord, type SubmitAnswer } from '../admin-client.js'
import { CliError } from '../../cli-error.js'
import { freePorts } from '../free-ports.js'
import { chooseLinks, ensureLinks, linkPortCount, linksState, linksStatus, peerAddressesVia, stopLinks } from './local-links.js'
import { showLogs } from './local-logs.js'
import { isXconCommand, processState, signal, waitForExit, type ProcessState } from './processes.js'
import { NODE_FAULTS_ON_STACKS, type LinksStatus, type LogsOptions, type SiteBackend } from '../site-backend.js'
import { findServer, readSiteState, sitePaths, updateSiteState, writeSiteState, type ServerRecord, type SiteState } from './site-state.js'
import { XCON } from '../../invocation.js'

/** Flags of `xcon up` that override every server of the topology. */
export interface UpOptions {
  dataDir: string
  topologyFile?: string | undefined
  build?: string | undefined
  timeScale?: string | undefined
  controlBlocks?: string | undefined
  traffic?: string | undefined
  fresh?: boolean | undefined
  /** A proxy on every directed link and the Toxiproxy-compatible API over them (`xcon up --links`). */
  links?: boolean | undefined
}

const MTA_MAIN = join(dirname(fileURLToPath(import.meta.resolve('@xcon/mta'))), 'main.js')
/**
 * Node flags of every MTA process. Many MTAs share one machine, and each runs its association code
 * only a few hundred times, so what pays off in one long-lived server costs here:
 * - A 4 MB young-generation semi-space instead of 16 MB: measured on 10 and 25 idle MTAs, about
 *   10 MB less resident memory each, for a few per cent of peak transfer rate (1 MB costs 20 %).
 * - Four times V8's interrupt budget (67584 bytes of bytecode run before a function is considered
 *   for TurboFan): most likely, the optimising compiler then works on code that stays hot, not on
 *   every path one association has just taken. Measured with the scale bench: a probe's CPU at 50
 *   MTAs 15.0–15.4 → 8.1–9.1 ms, the 100-MTA mesh 87–90 → 54–59 s; peak transfer rate unchanged
 *   (29.6–30.5 → 28.7–32.7k msg/s over three runs each). Sixteen times cost 10–20 % of the peak;
 *   --no-opt half.
 * - One thread for V8's background jobs (concurrent marking, compiling) instead of four: a hundred
 *   MTAs' four hundred threads only contend for two cores. Measured: a probe at 100 MTAs 10.6–11.4
 *   → 9.1–9.7 ms, the mesh 54.5–58.7 → 46.9–49.8 s, PSS median 36 → 31–32 MB (six runs); peak
 *   transfer rate 26.8–31.9k → 32.6–33.7k msg/s (three runs each).
 * The Dockerfile's ENTRYPOINT passes the same flags. XCON_NODE_FLAGS replaces them (for example
 * "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile every MTA; "" for Node's defaults).
 */
const MTA_NODE_FLAGS = ['--max-semi-space-size=4', '--interrupt-budget=270336', '--v8-pool-size=1']
function mtaNodeFlags (): string[] {
  const custom = process.env.XCON_NODE_FLAGS
  return custom === undefined ? MTA_NODE_FLAGS : custom.split(/\s+/).filter(f => f !== '')
}

/** Reads the topology file (or the default site) and applies the command-line overrides. */
export function loadTopology (opts: Omit<UpOptions, 'dataDir' | 'fresh'>): Topology {
  let topology: Topology
  try {
    topology = opts.topologyFile === undefined
      ? parseTopology(DEFAULT_TOPOLOGY_YAML, '(default topology)')
      : parseTopology(readFileSync(opts.topologyFile, 'utf8'), opts.topologyFile)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`topology file not found: ${opts.topologyFile ?? ''}`, 2)
    if (err instanceof XconError) throw new CliError(err.message, 2)
    throw err
  }
  for (const s of Object.values(topology.servers)) {
    try {
      if (opts.build !== undefined) s.build = parseBuild(opts.build)
    } catch (err) { throw new CliError(`--build: ${(err as Error).message}`, 2) }
    if (opts.timeScale !== undefined) {
      const n = Number(opts.timeScale)
      if (!(n > 0)) throw new CliError(`--time-scale: expected a number above 0, got "${opts.timeScale}"`, 2)
      s.timeScale = n
    }
    if (opts.controlBlocks !== undefined) {
      const n = Number(opts.controlBlocks)
      if (!isControlBlockCount(n)) throw new CliError(`--control-blocks: expected a whole number from ${MIN_CONTROL_BLOCKS} to ${MAX_CONTROL_BLOCKS}, got "${opts.controlBlocks}"`, 2)
      s.controlBlocks = n
    }
    if (opts.traffic !== undefined) {
      const rate = TRAFFIC_LEVELS[opts.traffic] ?? Number(opts.traffic)
      if (!(rate >= 0)) throw new CliError(`--traffic: expected ${Object.keys(TRAFFIC_LEVELS).join(', ')} or messages per second, got "${opts.traffic}"`, 2)
      s.traffic = { ...s.traffic, rate }
    }
  }
  return topology
}

/** The last "xcon-mta: ..." line of an MTA's log: what made it exit during start-up. */
function fatalLine (logFile: string): string | undefined {
  try {
    const lines = readFileSync(logFile, 'utf8').split('\n').filter(l => l.startsWith('xcon-mta: '))
    return lines.at(-1)?.slice('xcon-mta: '.length).trim()
  } catch { return undefined }
}

/**
 * The local backend: every MTA a child process of this machine, on loopback, with its store and
 * log file under the data directory, found again by the other commands through site.json.
 */
export class LocalSite implements SiteBackend {
  readonly kind = 'local' as const

  private constructor (readonly dataDir: string) {}

  static open (dataDir: string): LocalSite {
    readSiteState(dataDir)
    return new LocalSite(sitePaths(dataDir).root)
  }

  /**
   * Read from disk every time: another `xcon` command (in another terminal) may have started or
   * restarted an MTA since, and a long-running `xcon up` must stop the process that runs now.
   */
  get state (): SiteState {
    return readSiteState(this.dataDir)
  }

  /** Writes the resolved topology (ports pinned) and the site state; starts nothing. */
  static async prepare (opts: UpOptions): Promise<LocalSite> {
    const paths = sitePaths(opts.dataDir)
    if (existsSync(paths.state)) {
      const state = readSiteState(opts.dataDir)
      const running = Object.values(state.servers).filter(s => processState(s.pid, s.name) !== 'down').map(s => `${s.name} pid ${s.pid}`)
      if (linksState(opts.dataDir) !== 'down') running.push(`the links process pid ${state.links?.pid}`)
      if (running.length > 0) throw new CliError(`a site is already running under ${paths.root} (${running.join(', ')}): "${XCON} down" first`)
    }
    const topology = loadTopology(opts)
    if (opts.fresh === true) rmSync(paths.root, { recursive: true, force: true })
    mkdirSync(paths.logs, { recursive: true })
    mkdirSync(paths.stores, { recursive: true })
    const servers: Record<string, ServerRecord> = {}
    const all = allServers(topology)
    // One pool for every port of the site, the links' included, so that no two are the same.
    const pool = await freePorts(all.length * 3 + (opts.links === true ? linkPortCount(all.length) : 0))
    for (const s of all) {
      s.port ??= pool.pop()!
      s.adminPort ??= pool.pop()!
      if (s.ims !== undefined) s.ims.port ??= pool.pop()!
      servers[s.name] = { name: s.name, site: s.site, pid: null, port: s.port, adminHost: s.adminHost, adminPort: s.adminPort, logFile: paths.log(s.name) }
    }
    const names = all.map(s => s.name)
    const links = opts.links === true ? await chooseLinks(paths.root, names, pool) : undefined
    // Every start of an MTA goes through its links, for as long as the site lives.
    if (links !== undefined) for (const n of names) servers[n]!.env = { XCON_PEER_ADDRESSES: peerAddressesVia(links, n, names) }
    writeFileSync(paths.topology, JSON.stringify(serializeTopology(topology), null, 2))
    writeSiteState({ dataDir: paths.root, topologyFile: paths.topology, supervisorPid: null, startedAt: new Date().toISOString(), servers, ...(links === undefined ? {} : { links }) })
    // One target group per MTA, in Prometheus's file_sd format; the series carry server and site themselves.
    const targets = Object.values(servers).map(s => ({ targets: [`${s.adminHost === '0.0.0.0' ? '127.0.0.1' : s.adminHost}:${s.adminPort}`], labels: { xcon_data: paths.root } }))
    writeFileSync(paths.prometheusTargets, `${JSON.stringify(targets, null, 2)}\n`)
    return new LocalSite(paths.root)
  }

  private topologyToken: { value: string | undefined } | undefined

  /**
   * The admin token of the site: XCON_ADMIN_TOKEN, else the topology's adminToken. The topology
   * file is written once by prepare(), so it is read once, not on every request.
   */
  get adminToken (): string | undefined {
    if (process.env.XCON_ADMIN_TOKEN !== undefined && process.env.XCON_ADMIN_TOKEN !== '') return process.env.XCON_ADMIN_TOKEN
    if (this.topologyToken === undefined) {
      let value: string | undefined
      try {
        const t = (JSON.parse(readFileSync(sitePaths(this.dataDir).topology, 'utf8')) as { adminToken?: unknown }).adminToken
        value = typeof t === 'string' ? t : undefined
      } catch { value = undefined }
      this.topologyToken = { value }
    }
    return this.topologyToken.value
  }

  get names (): string[] {
    return Object.keys(this.state.servers)
  }

  get actionLogFile (): string {
    return sitePaths(this.dataDir).actions
  }

  get label (): string {
    return `local site under ${this.dataDir}`
  }

  describe (): Record<string, unknown> {
    return { kind: 'local', dataDir: this.dataDir }
  }

  /** Says what it did: a site already down is not closed down again. */
  async down (opts: { volumes: boolean }): Promise<string[]> {
    const lines: string[] = []
    if (opts.volumes) lines.push(`--volumes is for containers: a local site's queues stay under ${this.dataDir} (${XCON} up --fresh starts without them)`)
    // A foreground `xcon up` in another terminal closes its own site down when interrupted, and
    // would otherwise, on a later Ctrl-C, close down whatever site runs here by then.
    const supervisor = this.state.supervisorPid
    let supervised = false
    if (processState(supervisor, 'up', isXconCommand) !== 'down') {
      signal(supervisor!, 'SIGINT')
      supervised = await waitForExit(supervisor!, 'up', 60_000, isXconCommand)
      if (supervised) lines.push(`the foreground xcon up (pid ${supervisor!}) closed its site down`)
    }
    const running = this.names.filter(n => this.processState(n) !== 'down')
    await Promise.all(running.map(async n => await this.stop(n)))
    if (await stopLinks(this.dataDir)) lines.push('closed the links (their proxies and the Toxiproxy API)')
    if (running.length > 0 || !supervised) lines.push(running.length === 0 ? `nothing to close down: ${this.names.join(', ')} ${this.names.length === 1 ? 'is' : 'are'} already down` : `closed down ${running.join(', ')}`)
    return lines
  }

  async logs (opts: LogsOptions, out: (line: string) => void): Promise<void> {
    await showLogs(this, opts, out)
  }

  async partition (server: string, from: string[] | undefined): Promise<string> {
    const { partitionLocal } = await import('./local-partition.js')
    return await partitionLocal(this, server, from)
  }

  async nodeOf (): Promise<undefined> { return undefined }

  async nodeFault (): Promise<string[]> {
    throw new CliError(`${NODE_FAULTS_ON_STACKS}; not on ${this.label}`, 2)
  }

  async heal (): Promise<string> {
    const { healLocal } = await import('./local-partition.js')
    await healLocal(this)
    return 'healed every partition of the links'
  }

  links (): LinksStatus | undefined {
    return linksStatus(this.dataDir)
  }

  topology (): Topology {
    const file = this.state.topologyFile
    return parseTopology(readFileSync(file, 'utf8'), file)
  }

  /** Every log file of the site: each MTA's, then the CLI's actions. */
  get logFiles (): string[] {
    return [...this.names.map(n => this.server(n).logFile), this.actionLogFile]
  }

  /**
   * One server's record. When site.json lost track of a running MTA (its write failed on a full
   * disk, say), the pid file the MTA keeps in its own data directory says which process it is.
   */
  server (name: string): ServerRecord {
    const record = findServer(this.state, name)
    if (processState(record.pid, record.name) !== 'down') return record
    try {
      const pid = Number(readFileSync(join(sitePaths(this.dataDir).stores, record.name, 'mta.pid'), 'utf8').trim())
      if (Number.isInteger(pid) && processState(pid, record.name) !== 'down') return { ...record, pid }
    } catch { /* no pid file: not running */ }
    return record
  }

  resolve (name: string): string {
    return this.server(name).name
  }

  siteOf (name: string): string {
    return this.server(name).site
  }

  metricsUrl (name: string): string {
    const s = this.server(name)
    // An admin API bound to every address is still reached on loopback from here.
    return `http://${s.adminHost === '0.0.0.0' ? '127.0.0.1' : s.adminHost}:${s.adminPort}/metrics`
  }

  private admin (name: string): AdminClient {
    const s = this.server(name)
    return new AdminClient(s.name, s.adminHost, s.adminPort, this.adminToken)
  }

  processState (name: string): ProcessState {
    const s = this.server(name)
    return processState(s.pid, s.name)
  }

  /** Starts one MTA and waits until it is ready (its links first, on a site with `--links`). */
  async start (name: string): Promise<void> {
    await ensureLinks(this.dataDir)
    this.spawn(name)
    await this.waitReady(name)
  }

  /** Remembers extra environment for every later start of `name` (kept in site.json). */
  setEnv (name: string, env: Record<string, string>): void {
    updateSiteState(this.dataDir, state => { state.servers[this.resolve(name)]!.env = env })
  }

  /** Starts one MTA as a detached child that logs to its file; a running one is left alone. */
  spawn (name: string, env: Record<string, string> = {}): ServerRecord {
    const s = this.server(name)
    if (processState(s.pid, s.name) !== 'down') return s
    const out = openSync(s.logFile, 'a')
    const child = spawn(process.execPath, [...mtaNodeFlags(), MTA_MAIN, '--topology', sitePaths(this.dataDir).topology, '--server', s.name, '--data', sitePaths(this.dataDir).stores], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...s.env, ...env }
    })
    closeSync(out)
    child.unref()
    s.pid = child.pid ?? null
    try {
      updateSiteState(this.dataDir, state => { state.servers[s.name]!.pid = s.pid })
    } catch (err) {
      // The MTA runs all the same, and its pid file (see server()) keeps it found.
      process.stderr.write(`xcon: could not record ${s.name}'s pid in site.json (${(err as Error).message}); it is found by its pid file\n`)
    }
    return s
  }

  /**
   * Waits until the MTA answers /health, or fails naming its log file. A process that exits fails
   * at once; the timeout is only for one that lives and never answers, so it is generous: a cold
   * start on a loaded 2-core machine (an image build alongside) took more than 20 s.
   */
  async waitReady (name: string, timeoutMs = 60_000): Promise<void> {
    const s = this.server(name)
    await this.admin(name).waitReady(timeoutMs, () => processState(s.pid, s.name) !== 'down', s.logFile, () => fatalLine(s.logFile))
  }

  /** SIGKILL: the MTA dies at once, as in a crash; its durable queues survive. */
  async kill (name: string): Promise<void> {
    const s = this.server(name)
    if (s.pid === null || processState(s.pid, s.name) === 'down') return
    signal(s.pid, 'SIGKILL')
    await waitForExit(s.pid, s.name, 5000)
  }

  /** SIGTERM and wait for a clean closedown (9299); SIGKILL after `graceMs`. A paused MTA is resumed first. */
  async stop (name: string, graceMs = 15_000): Promise<void> {
    const s = this.server(name)
    if (s.pid === null || processState(s.pid, s.name) === 'down') return
    signal(s.pid, 'SIGCONT')
    signal(s.pid, 'SIGTERM')
    if (!await waitForExit(s.pid, s.name, graceMs)) {
      signal(s.pid, 'SIGKILL')
      await waitForExit(s.pid, s.name, 5000)
    }
  }

  /** The Q260167 workaround: stop the MTA service and start it again. */
  async restart (name: string): Promise<void> {
    await this.stop(name)
    await this.start(name)
  }

  /** SIGSTOP: the process freezes with its sockets open, so peers see timeouts, not refusals. */
  async pause (name: string): Promise<void> {
    const s = this.server(name)
    if (s.pid === null || processState(s.pid, s.name) === 'down') throw new CliError(`${s.name} is not running`)
    signal(s.pid, 'SIGSTOP')
  }

  async resume (name: string): Promise<void> {
    const s = this.server(name)
    if (s.pid !== null) signal(s.pid, 'SIGCONT')
  }

  /** GET /status of one MTA, or undefined when it does not answer (down or paused). */
  async fetchStatus (name: string, timeoutMs = 1500): Promise<MtaStatusDocument | undefined> {
    return await this.admin(name).status(timeoutMs)
  }

  /** GET /deliveries of one MTA, after sequence number `after`. */
  async deliveries (name: string, after = 0, timeoutMs?: number): Promise<DeliveryRecord[]> {
    return await this.admin(name).deliveries(after, timeoutMs)
  }

  async submit (name: string, body: Record<string, unknown>): Promise<string[]> {
    return (await this.submitMail(name, body)).mtsIds
  }

  async submitMail (name: string, body: Record<string, unknown>): Promise<SubmitAnswer> {
    const s = this.server(name)
    const state = processState(s.pid, s.name)
    if (state !== 'running') throw new CliError(`${s.name} is ${state}: it cannot take a submission`)
    return await this.admin(name).submitMail(body)
  }
}
