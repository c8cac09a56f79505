import type { MtaStatusDocument } from '@xcon/core'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { stringify as toYaml } from 'yaml'
import { allServers, cutLinks, serializeTopology, type FaultStep, type Topology } from '@xcon/core'
import { AdminClient, type DeliveryRecord } from '../site/admin-client.js'
import { CliError } from '../cli-error.js'
import { COMPOSE_ADMIN_TOKEN, CONTAINER_MTA_PORT, composeFile, containerTopology, serviceName } from '../site/docker/compose-file.js'
import { CHAIN, ensureChain, iptables } from '../site/docker/docker-partition.js'
import { DockerSite } from '../site/docker/docker-site.js'
import { freePorts } from '../site/free-ports.js'
import type { ProcessState } from '../site/site-backend.js'
import { linkRules, type LinkCut } from './link-rules.js'
import type { ScenarioSite } from './scenario-site.js'

const exec = promisify(execFile)

/** Latency on the container network would need tc netem in each namespace, which many kernels (this one too) lack. */
export const NO_LATENCY_ON_DOCKER = 'latency faults run on the local backend only (its per-link proxies add the delay); on docker they would need tc netem'

/**
 * Runs one docker command; a failure becomes a CliError that quotes docker's own message. With
 * `partial`, what docker printed is returned even when it failed (`docker inspect` of several
 * containers prints those it found, and fails for one that someone removed).
 */
async function docker (args: string[], partial = false): Promise<string> {
  try {
    const { stdout, stderr } = await exec('docker', args, { maxBuffer: 256 << 20 })
    return args[0] === 'logs' ? stdout + stderr : stdout
  } catch (err) {
    const e = err as { code?: string | number, stdout?: string, stderr?: string, message: string }
    if (e.code === 'ENOENT') throw new CliError('--backend docker: the docker command is not installed')
    if (partial && typeof e.stdout === 'string') return e.stdout
    throw new CliError(`docker ${args.slice(0, 2).join(' ')}: ${e.stderr?.trim() || e.message}`)
  }
}

interface Inspected { server: string, id: string, status: string, pid: number, ip: string | undefined }

/**
 * A scenario's site on the docker backend: a compose project of its own, made for the scenario's
 * topology (one container per server, any number of sites and connectors), with the image built
 * beforehand. Faults are docker commands on the containers; partitions are packet filters in the
 * containers' network namespaces (see link-rules.ts), kept by the runner and put back whenever a
 * container starts, since a new start gets a new namespace.
 */
export class DockerScenarioSite implements ScenarioSite {
  readonly backend = 'docker' as const
  private ids = new Map<string, string>()
  private cuts: LinkCut[] = []
  private onLine: (line: string) => void = () => undefined
  private reconciling: Promise<void> = Promise.resolve()

  private constructor (
    readonly names: string[],
    /** The run's compose project, for `up` and `down`; single containers are driven by id, faster. */
    private readonly project: DockerSite,
    private readonly projectName: string,
    private readonly adminPorts: Record<string, number>,
    private readonly outDir: string,
    /** What the run's containers ask for: the topology's adminToken, or the compose default. */
    private readonly adminToken: string
  ) {}

  /** Writes the run's compose file and container topology under `outDir`; starts nothing yet. */
  static async create (outDir: string, name: string, topology: Topology, image: string): Promise<DockerScenarioSite> {
    try {
      await docker(['info', '--format', '{{.ServerVersion}}'])
    } catch (err) {
      throw new CliError(`--backend docker: the Docker engine does not answer (${(err as Error).message})`)
    }
    try {
      await docker(['image', 'inspect', '--format', '{{.Id}}', image])
    } catch {
      throw new CliError(`--backend docker: no image ${image} here; build it first with scripts/build-image.sh (or docker compose build), or name another with --image`)
    }
    const names = allServers(topology).map(s => s.name)
    const ports = await freePorts(names.length)
    const adminPorts = Object.fromEntries(names.map((n, i) => [n, ports[i]!]))
    const topologyFile = join(outDir, 'container-topology.json')
    writeFileSync(topologyFile, JSON.stringify(serializeTopology(containerTopology(topology)), null, 2), { mode: 0o644 })
    const composePath = join(outDir, 'docker-compose.yml')
    writeFileSync(composePath, `# Made by xcon scenario run for ${name}; removed with the run's containers.\n${toYaml(composeFile(topology, { image, topologyFile, adminPorts }))}`)
    const projectName = `xcon-${serviceName(name)}-${randomBytes(3).toString('hex')}`
    const project = await DockerSite.open({ file: composePath, project: projectName })
    return new DockerScenarioSite(names, project, projectName, adminPorts, outDir, topology.adminToken ?? COMPOSE_ADMIN_TOKEN)
  }

  get where (): string {
    return `compose project ${this.projectName}`
  }

  get compose (): { file: string, project: string } {
    return { file: join(this.outDir, 'docker-compose.yml'), project: this.projectName }
  }

  private id (name: string): string {
    const id = this.ids.get(name)
    if (id === undefined) throw new CliError(`${name} has no container in project ${this.projectName}`)
    return id
  }

  private admin (name: string): AdminClient {
    return new AdminClient(name, '127.0.0.1', this.adminPorts[name]!, this.adminToken)
  }

  async startAll (): Promise<void> {
    await this.project.compose(['up', '-d'])
    const listing = await docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${this.projectName}`, '--format', '{{.ID}}\t{{.Label "xcon.server"}}'])
    for (const line of listing.trim().split('\n')) {
      const [id, server] = line.split('\t')
      if (id !== undefined && server !== undefined && server !== '') this.ids.set(server, id)
    }
    await Promise.all(this.names.map(async n => await this.waitReady(n)))
  }

  private async waitReady (name: string): Promise<void> {
    await this.admin(name).waitReady(60_000, async () => (await this.inspect([name]))[0]?.status === 'running', `docker logs ${this.id(name)}`)
  }

  /** One `docker inspect` for the named servers (default: all). */
  private async inspect (names = this.names): Promise<Inspected[]> {
    const ids = names.map(n => this.ids.get(n)).filter((id): id is string => id !== undefined)
    if (ids.length === 0) return []
    // A container removed behind the runner's back is left out, and so counts as down.
    const out = await docker(['inspect', '--format', '{{.Id}} {{.State.Status}} {{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', ...ids], true)
    return out.trim().split('\n').filter(line => line.trim() !== '').map(line => {
      const [id, status, pid, ip] = line.trim().split(/\s+/)
      const server = [...this.ids].find(([, v]) => id?.startsWith(v) === true)?.[0] ?? '?'
      return { server, id: id!, status: status!, pid: Number(pid), ip: ip === '' ? undefined : ip }
    })
  }

  async states (): Promise<Map<string, ProcessState>> {
    const states = new Map<string, ProcessState>(this.names.map(n => [n, 'down']))
    for (const c of await this.inspect()) states.set(c.server, c.status === 'paused' ? 'paused' : c.status === 'running' ? 'running' : 'down')
    return states
  }

  async fetchStatus (name: string, timeoutMs: number): Promise<MtaStatusDocument | undefined> {
    return await this.admin(name).status(timeoutMs)
  }

  async deliveries (name: string, after: number, timeoutMs: number): Promise<DeliveryRecord[]> {
    return await this.admin(name).deliveries(after, timeoutMs)
  }

  async submit (name: string, body: Record<string, unknown>): Promise<string[]> {
    return await this.admin(name).submit(body)
  }

  onLogLine (onLine: (line: string) => void): void {
    this.onLine = onLine
  }

  async applyFault (step: FaultStep): Promise<void> {
    const each = async (fn: (n: string) => Promise<void>): Promise<void> => { await Promise.all(step.targets.map(fn)) }
    const start = async (n: string): Promise<void> => {
      await docker(['start', this.id(n)])
      await this.reconcile()
      await this.waitReady(n)
    }
    switch (step.action) {
      // A compose project runs on one engine: a node's MTAs killed together, and started together again.
      case 'fail-node':
      case 'kill': return await each(async n => { await docker(['kill', this.id(n)]) })
      case 'restore-node': return await each(start)
      case 'stop': return await each(async n => { await docker(['stop', '-t', '20', this.id(n)]) })
      case 'start': return await each(start)
      case 'restart': return await each(async n => { await docker(['stop', '-t', '20', this.id(n)]); await start(n) })
      case 'pause': return await each(async n => { await docker(['pause', this.id(n)]) })
      case 'resume': return await each(async n => { await docker(['unpause', this.id(n)]) })
      case 'partition':
        for (const [from, to] of cutLinks(step)) {
          this.cuts = this.cuts.filter(c => !(c.from === from && c.to === to))
          this.cuts.push({ from, to, mode: step.mode ?? 'blackhole' })
        }
        return await this.reconcile()
      case 'latency':
        throw new CliError(NO_LATENCY_ON_DOCKER)
      case 'join':
        this.cuts = this.cuts.filter(c => !step.targets.includes(c.from) && !step.targets.includes(c.to))
        return await this.reconcile()
      case 'heal': {
        this.cuts = this.cuts.filter(c => !step.targets.includes(c.from) && !step.targets.includes(c.to))
        await this.reconcile()
        const states = await this.states()
        await each(async n => {
          if (states.get(n) === 'paused') await docker(['unpause', this.id(n)])
          if (states.get(n) === 'down') await start(n)
        })
      }
    }
  }

  /**
   * Makes every running container's rules match the cut links, with the addresses its peers have
   * now. One at a time: two faults at once must not interleave a flush with another's appends.
   */
  private async reconcile (): Promise<void> {
    const next = this.reconciling.then(async () => {
      const containers = await this.inspect()
      const ips = Object.fromEntries(containers.filter(c => c.ip !== undefined).map(c => [c.server, c.ip!]))
      for (const c of containers) {
        if (c.pid <= 0) continue
        const rules = linkRules(c.server, this.cuts, ips, CONTAINER_MTA_PORT)
        try {
          await ensureChain(c.pid)
          await iptables(c.pid, ['-F', CHAIN])
          for (const rule of rules) await iptables(c.pid, ['-A', CHAIN, ...rule])
        } catch (err) {
          if (rules.length === 0) continue // nothing to cut here; a host without nsenter may still run the rest
          throw new CliError(`partitions on the docker backend need root with nsenter and iptables on the Docker host: ${(err as Error).message}`)
        }
      }
    })
    this.reconciling = next.catch(() => undefined)
    await next
  }

  /**
   * Stops every container cleanly (9299), hands their whole logs to the history, keeps a copy
   * under `outDir/logs`, and removes the project (containers, network).
   */
  async close (): Promise<void> {
    try {
      await Promise.all([...this.ids.values()].map(async id => await docker(['stop', '-t', '20', id]).catch(() => undefined)))
      mkdirSync(join(this.outDir, 'logs'), { recursive: true })
      for (const [name, id] of this.ids) {
        let text: string
        try { text = await docker(['logs', id]) } catch (err) { text = `(no logs: ${(err as Error).message})\n` }
        writeFileSync(join(this.outDir, 'logs', `${name}.log`), text)
        for (const line of text.split('\n')) if (line.startsWith('{')) this.onLine(line)
      }
    } finally {
      await this.project.compose(['down', '--volumes', '--remove-orphans', '-t', '1'])
    }
  }
}
