import type { MtaStatusDocument } from '@xcon/core'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { AdminClient, type DeliveryRecord, type SubmitAnswer } from '../admin-client.js'
import { ADMIN_PORT_IN_CONTAINER, ExecBridge } from './exec-bridge.js'
import { CliError } from '../../cli-error.js'
import { findService, readComposeServices, type ServiceInfo } from './compose-services.js'
import { engineArgs, listByLabel, smtpAsPublished, type ContainerInfo } from './docker-containers.js'
import { findNode, listSwarmNodes, type SwarmNode } from './swarm-nodes.js'
import { nodeFault } from './node-fault.js'
import type { LogsOptions, NodePlacement, ProcessState, SiteBackend } from '../site-backend.js'
import { dockerLogs } from './docker-logs.js'
import { waitUntil } from '../../wait-until.js'
import { XCON } from '../../invocation.js'

const run = promisify(execFile)

/** How long `down` waits for Swarm to remove the stack's networks (they go in a few seconds). */
const STACK_RM_WAIT_MS = 30_000

/** Where the manager last placed a service's task, and that task's state, from `docker stack ps`. */
interface Placement { node: string, desired: string, current: string }

/** What one look at the swarm shows: its nodes, the stack's task containers on every engine xcon can reach, and the placements. */
interface SwarmSnapshot { at: number, nodes: Promise<SwarmNode[]>, tasks: Promise<ContainerInfo[]>, placements: Promise<Map<string, Placement>> }

/**
 * The Swarm backend (`--stack NAME`): the MTAs are the services of a stack deployed from the
 * compose file (`NAME_srv-a` …), found by their xcon.server labels; the verbs are docker service
 * and docker container commands. Swarm has no kill and no start: `kill` kills the task's
 * container (the file's restart policy, condition none, keeps it down), `stop` scales the
 * service to 0, `start` scales it to 1 or, when a dead task holds it at 1, forces a new task.
 */
export class StackSite implements SiteBackend {
  readonly kind = 'docker' as const

  /** One open exec per task container, carrying its admin requests (exec-bridge.ts). */
  private readonly bridges = new Map<string, ExecBridge>()

  /** One look at the swarm answers every question of the next second; a change forgets it. */
  private snapshot: SwarmSnapshot | undefined

  private constructor (private readonly file: string, readonly stack: string, private readonly services: ServiceInfo[]) {}

  static async open (opts: { file?: string | undefined, stack: string }): Promise<StackSite> {
    const file = resolve(opts.file ?? 'docker-compose.yml')
    if (!existsSync(file)) throw new CliError(`no compose file at ${file}: run from the xcon directory or name it with --file`)
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(opts.stack)) throw new CliError(`--stack ${opts.stack}: a stack name is letters, digits, _ . and -`, 2)
    const { services } = await readComposeServices(file, async () => { throw new CliError(`${file}: its labels use variables, which xcon --stack cannot resolve without compose`) }, process.env)
    if (services.length === 0) throw new CliError(`${file} has no service labelled xcon.server`)
    return new StackSite(file, opts.stack, services)
  }

  get names (): string[] { return this.services.map(s => s.server) }
  get label (): string { return `swarm stack ${this.stack} (${this.file})` }
  get actionLogFile (): string { return join(dirname(this.file), '.xcon', `stack-${this.stack}-actions.log`) }
  describe (): Record<string, unknown> { return { kind: 'stack', stack: this.stack, file: this.file } }

  private info (name: string): ServiceInfo {
    return findService(this.services, name)
  }

  resolve (name: string): string { return this.info(name).server }
  siteOf (name: string): string { return this.info(name).site }
  /** The Swarm service of a server: STACK_service. */
  service (name: string): string { return `${this.stack}_${this.info(name).service}` }

  /** A docker command on this machine's engine (`engine` undefined) or on another node's. */
  private async docker (args: string[], engine?: string): Promise<string> {
    this.snapshot = undefined
    try {
      return (await run('docker', engineArgs(engine, args), { maxBuffer: 64 << 20 })).stdout
    } catch (err) {
      throw new CliError(`docker ${engineArgs(engine, args).join(' ')}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
    }
  }

  private look (): SwarmSnapshot {
    if (this.snapshot !== undefined && Date.now() - this.snapshot.at <= 1000) return this.snapshot
    const nodes = listSwarmNodes()
    const label = `com.docker.stack.namespace=${this.stack}`
    // This machine's engine, and every other node's that carries an xcon.engine label.
    const tasks = nodes.then(async ns => (await Promise.all([undefined, ...new Set(ns.flatMap(n => n.engine === undefined ? [] : [n.engine]))]
      .map(async engine => await listByLabel(label, engine)))).flat())
    const placements = run('docker', ['stack', 'ps', '--no-trunc', '--format', '{{json .}}', this.stack], { maxBuffer: 64 << 20 }).then(({ stdout }) => {
      const map = new Map<string, Placement>()
      // Newest task first in each slot: the first line of a service is its current task.
      for (const line of stdout.split('\n').filter(l => l.startsWith('{'))) {
        const t = JSON.parse(line) as { Name: string, Node: string, DesiredState: string, CurrentState: string }
        const service = t.Name.replace(/\.\d+$/, '')
        if (!map.has(service)) map.set(service, { node: t.Node, desired: t.DesiredState, current: t.CurrentState })
      }
      return map
    }, () => new Map<string, Placement>())
    this.snapshot = { at: Date.now(), nodes, tasks, placements }
    return this.snapshot
  }

  /** The current task container of a server: the running (or paused) one, else the newest. */
  async container (name: string): Promise<ContainerInfo | undefined> {
    const service = this.service(name)
    const tasks = (await this.look().tasks).filter(c => c.service === service)
    return tasks.find(c => c.status === 'running' || c.status === 'paused') ?? tasks.sort((a, b) => b.created.localeCompare(a.created))[0]
  }

  /** The node the manager placed a server's task on, Swarm's view of that node, and the engine xcon reaches it by. */
  async placement (name: string): Promise<{ node: string, nodeState: string, task: Placement, reachable: boolean } | undefined> {
    const snap = this.look()
    const task = (await snap.placements).get(this.service(name))
    if (task === undefined) return undefined
    const node = (await snap.nodes).find(n => n.hostname === task.node || n.id === task.node)
    return { node: task.node, nodeState: node?.state ?? 'unknown', task, reachable: node !== undefined && (node.self || node.engine !== undefined) }
  }

  async nodeOf (name: string): Promise<NodePlacement | undefined> {
    const p = await this.placement(name)
    return p === undefined ? undefined : { node: p.node, nodeState: p.nodeState }
  }

  /**
   * Fails or restores a whole node: every MTA placed there goes (or comes back) at once. Returns
   * once Swarm's own view has followed (node down, or ready again), which takes Swarm some
   * seconds after a power cut (its heartbeats), and, on restore, once the node's MTAs answer.
   */
  async nodeFault (kind: 'fail' | 'restore', name: string, log: (action: string, server: string, detail?: string) => void): Promise<string[]> {
    const nodes = await listSwarmNodes()
    if (nodes.length === 0) throw new CliError(`this Docker engine is not the manager of a swarm, so it has no nodes to ${kind} (scripts/two-node-swarm.sh up makes two)`, 2)
    const node = findNode(nodes, name)
    if (node === undefined) throw new CliError(`no node ${name} in this swarm; its nodes: ${nodes.map(n => `${n.hostname} (${n.state})`).join(', ')}`, 2)
    const placed = (await Promise.all(this.names.map(async s => [s, (await this.placement(s))?.node] as const)))
      .filter(([, n]) => n === node.hostname || n === node.id).map(([s]) => s)
    for (const s of placed) log(`${kind}-node`, s, `(node ${node.hostname})`)
    const t0 = Date.now()
    await nodeFault(kind, node)
    const want = kind === 'fail' ? 'down' : 'ready'
    const seen = await waitUntil(async () => (await listSwarmNodes()).find(n => n.id === node.id)?.state === want ? true : undefined, { timeoutMs: 90_000, intervalMs: 250 })
    this.snapshot = undefined
    if (seen === undefined) throw new CliError(`${node.hostname}: Swarm still does not see it ${want} 90 s after the ${kind} (docker node ls)`)
    const lines = [`${node.hostname}: ${want} in Swarm's view ${((Date.now() - t0) / 1000).toFixed(1)} s after ${kind === 'fail' ? 'the power cut' : 'it booted'}`]
    if (kind === 'fail') {
      lines.push(placed.length === 0 ? 'no MTA of this stack was on it' : `its MTAs went with it: ${placed.join(', ')} (their queues stay in their volumes on ${node.hostname})`)
      return lines
    }
    // Its MTAs' tasks died with it, and the file's restart policy (condition none) keeps them
    // dead: start them, as a server's Exchange services start when it boots.
    await Promise.all(placed.map(async s => { await this.start(s) }))
    for (const s of placed) lines.push(`${s}: ${await this.processState(s)}, on ${node.hostname} with its store`)
    return lines
  }

  /**
   * A task's container, on whichever engine runs it. None found is down, where xcon reaches the
   * node's engine (or the node is down, its engine with it); on a node xcon cannot reach (no
   * xcon.engine label), Swarm's own view: the task the manager sees running runs.
   */
  async processState (name: string): Promise<ProcessState> {
    const c = await this.container(name)
    if (c !== undefined) return c.status === 'paused' ? 'paused' : c.status === 'running' ? 'running' : 'down'
    const p = await this.placement(name)
    if (p === undefined || p.reachable) return 'down'
    return p.nodeState === 'ready' && p.task.desired === 'Running' && p.task.current.startsWith('Running') ? 'running' : 'down'
  }

  /** A stack's admin ports are reached inside the containers (docker exec), not published: no scrape URL from here. */
  metricsUrl (): null {
    return null
  }

  private async admin (name: string): Promise<AdminClient> {
    const c = await this.container(name)
    if (c === undefined || c.status !== 'running') {
      const p = await this.placement(name)
      if (c === undefined && p !== undefined && !p.reachable && await this.processState(name) === 'running') {
        throw new CliError(`${this.resolve(name)} runs on node ${p.node}, whose Docker engine xcon cannot reach: label the node with it (docker node update --label-add xcon.engine=ssh://HOST ${p.node})`)
      }
      throw new CliError(`${this.resolve(name)} is not running`)
    }
    let bridge = this.bridges.get(c.id)
    if (bridge === undefined || !bridge.alive) {
      for (const [id, b] of this.bridges) if (!b.alive) this.bridges.delete(id)
      bridge = new ExecBridge(c.id, c.engine)
      this.bridges.set(c.id, bridge)
    }
    return new AdminClient(this.resolve(name), '127.0.0.1', ADMIN_PORT_IN_CONTAINER, c.adminToken ?? process.env.XCON_ADMIN_TOKEN, bridge.transport)
  }

  async up (): Promise<void> {
    await this.docker(['stack', 'deploy', '-c', this.file, this.stack])
    await Promise.all(this.names.map(async n => await this.waitReady(n, 120_000)))
  }

  /**
   * Removes the stack, and returns once its networks are gone too: `docker stack rm` returns while
   * Swarm still removes them, and a swarm left meanwhile (`docker swarm leave`) keeps a network
   * that no API call can remove until dockerd restarts, and that a later deploy of the same stack
   * stumbles on ("network … not found").
   */
  async down (opts: { volumes: boolean } = { volumes: false }): Promise<string[]> {
    await this.removeStack()
    if (!opts.volumes) return [`removed stack ${this.stack} (its volumes stay: docker volume ls -f name=${this.stack}_, on each node; --volumes removes them)`]
    const removed = await this.removeVolumes()
    return [`removed stack ${this.stack} and its ${removed.length} volume(s) on the nodes that answered`]
  }

  async logs (opts: LogsOptions, out: (line: string) => void): Promise<void> {
    await dockerLogs(this, opts, out)
  }

  async partition (): Promise<string> {
    throw new CliError(`partition works on a compose project (--docker) or a local site started with --links; not on a Swarm stack (${this.stack})`, 2)
  }

  async heal (): Promise<string> {
    throw new CliError(`heal works on a compose project (--docker) or a local site started with --links; not on a Swarm stack (${this.stack})`, 2)
  }

  links (): undefined { return undefined }
  topology (): undefined { return undefined }

  private async removeStack (): Promise<void> {
    await this.docker(['stack', 'rm', this.stack])
    await waitUntil(async () => (await this.docker(['network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${this.stack}`])).trim() === '',
      { timeoutMs: STACK_RM_WAIT_MS, intervalMs: 500 })
  }

  async waitReady (name: string, timeoutMs = 60_000): Promise<void> {
    // Until a task runs, admin() throws: not yet.
    if (await waitUntil(async () => await (await this.admin(name)).status(3000), { timeoutMs, intervalMs: 500 }) !== undefined) return
    throw new CliError(`${this.resolve(name)} did not become ready within ${timeoutMs / 1000} s; see docker service ps ${this.service(name)}`)
  }

  async kill (name: string): Promise<void> {
    const c = await this.container(name)
    if (c !== undefined && c.status === 'running') await this.docker(['kill', c.id], c.engine)
  }

  async stop (name: string): Promise<void> {
    await this.docker(['service', 'scale', '--detach=false', `${this.service(name)}=0`])
  }

  /**
   * A service placed on a node that Swarm sees down cannot get a task, and `docker service update
   * --detach=false` would wait for one for ever: say so instead.
   */
  private async assertNodeUp (name: string): Promise<void> {
    const p = await this.placement(name)
    if (p !== undefined && p.nodeState === 'down') {
      throw new CliError(`${this.resolve(name)} is placed on node ${p.node}, which Swarm sees down: ${XCON} --stack ${this.stack} restore-node ${p.node} first`)
    }
  }

  async start (name: string): Promise<void> {
    if (await this.processState(name) === 'running') return
    await this.assertNodeUp(name)
    const replicas = (await this.docker(['service', 'inspect', '--format', '{{.Spec.Mode.Replicated.Replicas}}', this.service(name)])).trim()
    // At 1 replica with its task dead (restart policy none), Swarm starts nothing until forced.
    await this.docker(replicas === '0' ? ['service', 'scale', '--detach=false', `${this.service(name)}=1`] : ['service', 'update', '--force', '--detach=false', this.service(name)])
    await this.waitReady(name)
  }

  async restart (name: string): Promise<void> {
    await this.assertNodeUp(name)
    await this.docker(['service', 'update', '--force', '--detach=false', this.service(name)])
    await this.waitReady(name)
  }

  async pause (name: string): Promise<void> {
    const c = await this.container(name)
    if (c?.status !== 'running') throw new CliError(`${this.resolve(name)} is not running`)
    await this.docker(['pause', c.id], c.engine)
  }

  async resume (name: string): Promise<void> {
    const c = await this.container(name)
    if (c?.status === 'paused') await this.docker(['unpause', c.id], c.engine)
  }

  /** The MTA's status, with its IMS's port as published in host mode on its node (smtpAsPublished). */
  async fetchStatus (name: string, timeoutMs = 5000): Promise<MtaStatusDocument | undefined> {
    let s: MtaStatusDocument | undefined
    try { s = await (await this.admin(name)).status(timeoutMs) } catch { return undefined }
    return s === undefined ? undefined : smtpAsPublished(s, await this.container(name))
  }

  async deliveries (name: string, after: number, timeoutMs: number): Promise<DeliveryRecord[]> {
    return await (await this.admin(name)).deliveries(after, timeoutMs)
  }

  /** Every log line of a server's tasks, dead ones included, as Swarm keeps them (one `docker service logs`). */
  async serviceLogs (name: string): Promise<string> {
    const argv = this.logsArgv(name, false)
    return await this.docker(argv.slice(1))
  }

  /**
   * Removes the stack's volumes on every node that xcon reaches: a volume lives on the node
   * that ran its task. Call it after `down`, once the containers are gone.
   */
  async removeVolumes (): Promise<string[]> {
    const engines = [undefined, ...new Set((await listSwarmNodes()).flatMap(n => n.engine === undefined ? [] : [n.engine]))]
    const removed: string[] = []
    const label = `label=com.docker.stack.namespace=${this.stack}`
    for (const engine of engines) {
      try {
        // Swarm removes the task containers after the services, and a volume in use stays.
        await waitUntil(async () => (await this.docker(['ps', '-a', '-q', '--filter', label], engine)).trim() === '', { timeoutMs: STACK_RM_WAIT_MS, intervalMs: 500 })
        const names = (await this.docker(['volume', 'ls', '-q', '--filter', label], engine)).split('\n').filter(v => v !== '')
        if (names.length > 0) await this.docker(['volume', 'rm', '-f', ...names], engine)
        removed.push(...names)
      } catch { /* that node is down: its volumes stay with it */ }
    }
    return removed
  }

  async submit (name: string, body: Record<string, unknown>): Promise<string[]> {
    return (await this.submitMail(name, body)).mtsIds
  }

  async submitMail (name: string, body: Record<string, unknown>): Promise<SubmitAnswer> {
    return await (await this.admin(name)).submitMail(body)
  }

  /** `docker service logs` takes one service: one command per server, for the caller to merge. */
  logsArgv (name: string, follow: boolean, fromNow = false): string[] {
    return ['docker', 'service', 'logs', '--raw', '--no-trunc', ...(follow ? ['-f'] : []), ...(fromNow ? ['--tail', '0'] : []), this.service(name)]
  }
}
