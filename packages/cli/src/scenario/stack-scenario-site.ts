import type { MtaStatusDocument } from '@xcon/core'
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { stringify as toYaml } from 'yaml'
import { allServers, serializeTopology, type FaultStep, type Topology } from '@xcon/core'
import type { DeliveryRecord } from '../site/admin-client.js'
import { CliError } from '../cli-error.js'
import { containerTopology, serviceName } from '../site/docker/compose-file.js'
import { engineArgs } from '../site/docker/docker-containers.js'
import { StackSite } from '../site/docker/stack-site.js'
import { NODE_LABEL, stackFile } from '../site/docker/stack-file.js'
import { listSwarmNodes, type SwarmNode } from '../site/docker/swarm-nodes.js'
import type { ProcessState } from '../site/site-backend.js'
import type { ScenarioSite } from './scenario-site.js'

const exec = promisify(execFile)

/** Link faults need the local proxies or a compose project's packet filters; a stack has neither yet. */
export const NO_LINK_FAULTS_ON_STACK = 'partition, latency and join run on the local and docker backends; on a stack, fail and restore nodes (fail-node, restore-node) or servers'

/**
 * A scenario's site on a Swarm stack of its own, deployed for the scenario's topology over the
 * swarm's nodes as its `nodes:` places them (by their xcon.node labels): the same runner, history
 * and checker as the other backends. A node fault powers that node off and on
 * (scripts/two-node-swarm.sh, through StackSite.nodeFault), so every MTA on it fails at once.
 */
export class StackScenarioSite implements ScenarioSite {
  readonly backend = 'stack' as const
  private onLine: (line: string) => void = () => undefined
  /** Nodes this run failed and has not restored: the final heal boots them again. */
  private readonly failed = new Set<string>()

  private constructor (readonly names: string[], private readonly stack: StackSite, private readonly nodeNames: Map<string, SwarmNode>, private readonly outDir: string) {}

  static async create (outDir: string, name: string, topology: Topology, image: string, nodes: Record<string, string[]>): Promise<StackScenarioSite> {
    const state = await exec('docker', ['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}']).then(r => r.stdout.trim(), () => 'no-engine')
    if (state !== 'active true') {
      throw new CliError(`--backend stack: ${state === 'no-engine' ? 'the Docker engine does not answer' : 'this Docker engine does not manage a swarm'}; scripts/two-node-swarm.sh up makes a two-node one (or docker swarm init, one node)`)
    }
    const swarm = await listSwarmNodes()
    // A scenario's node is a node of the swarm by its xcon.node label.
    const nodeNames = new Map<string, SwarmNode>()
    for (const key of Object.keys(nodes)) {
      const node = swarm.find(n => n.labels[NODE_LABEL] === key)
      if (node === undefined) {
        throw new CliError(`--backend stack: the scenario's nodes: names node ${JSON.stringify(key)}, and no node of the swarm is labelled ${NODE_LABEL}=${key}; its nodes: ${swarm.map(n => `${n.hostname} (${n.labels[NODE_LABEL] ?? 'no label'})`).join(', ')}`, 2)
      }
      nodeNames.set(key, node)
    }
    await shareImage(image, swarm)

    const names = allServers(topology).map(s => s.name)
    const topologyFile = join(outDir, 'container-topology.json')
    writeFileSync(topologyFile, JSON.stringify(serializeTopology(containerTopology(topology)), null, 2), { mode: 0o644 })
    const placement = Object.fromEntries(Object.entries(nodes).flatMap(([node, servers]) => servers.map(s => [s, node])))
    const file = join(outDir, 'docker-stack.yml')
    writeFileSync(file, `# Made by xcon scenario run for ${name}; removed with the run's stack.\n${toYaml(stackFile(topology, { image, topologyFile, placement }))}`)
    const stack = await StackSite.open({ file, stack: `xcon-${serviceName(name).slice(0, 20)}-${randomBytes(3).toString('hex')}` })
    return new StackScenarioSite(names, stack, nodeNames, outDir)
  }

  get where (): string {
    return `Swarm stack ${this.stack.stack} on ${new Set([...this.nodeNames.values()].map(n => n.hostname)).size || 'any'} node(s)`
  }

  async startAll (): Promise<void> {
    await this.stack.up()
  }

  async states (): Promise<Map<string, ProcessState>> {
    return new Map(await Promise.all(this.names.map(async n => [n, await this.stack.processState(n)] as const)))
  }

  async fetchStatus (name: string, timeoutMs: number): Promise<MtaStatusDocument | undefined> {
    return await this.stack.fetchStatus(name, timeoutMs)
  }

  async deliveries (name: string, after: number, timeoutMs: number): Promise<DeliveryRecord[]> {
    return await this.stack.deliveries(name, after, timeoutMs)
  }

  async submit (name: string, body: Record<string, unknown>): Promise<string[]> {
    return await this.stack.submit(name, body)
  }

  onLogLine (onLine: (line: string) => void): void {
    this.onLine = onLine
  }

  private hostname (step: FaultStep): string {
    const node = this.nodeNames.get(step.node ?? '')
    if (node === undefined) throw new CliError(`${step.source}: no swarm node for ${JSON.stringify(step.node)}`)
    return node.hostname
  }

  async applyFault (step: FaultStep): Promise<void> {
    const each = async (fn: (n: string) => Promise<void>): Promise<void> => { await Promise.all(step.targets.map(fn)) }
    const quiet = (): void => undefined // the runner records its steps in the history itself
    switch (step.action) {
      case 'kill': return await each(async n => await this.stack.kill(n))
      case 'stop': return await each(async n => await this.stack.stop(n))
      case 'start': return await each(async n => await this.stack.start(n))
      case 'restart': return await each(async n => await this.stack.restart(n))
      case 'pause': return await each(async n => await this.stack.pause(n))
      case 'resume': return await each(async n => await this.stack.resume(n))
      case 'fail-node':
        await this.stack.nodeFault('fail', this.hostname(step), quiet)
        this.failed.add(this.hostname(step))
        return
      case 'restore-node':
        this.failed.delete(this.hostname(step))
        await this.stack.nodeFault('restore', this.hostname(step), quiet)
        return
      case 'partition': case 'latency': case 'join':
        throw new CliError(`${step.source}: ${NO_LINK_FAULTS_ON_STACK}`)
      case 'heal': {
        // A failed node first: the MTAs on it can start only once it is back.
        for (const node of [...this.failed]) {
          this.failed.delete(node)
          await this.stack.nodeFault('restore', node, quiet)
        }
        const states = await this.states()
        await each(async n => {
          if (states.get(n) === 'paused') await this.stack.resume(n)
          if (states.get(n) === 'down') await this.stack.start(n)
        })
      }
    }
  }

  /**
   * Closes every MTA down cleanly (9299), hands their logs to the history (Swarm keeps the logs of
   * dead tasks while the service lasts), keeps a copy under `logs/`, and removes the stack and
   * its volumes on every node.
   */
  async close (): Promise<void> {
    try {
      for (const node of [...this.failed]) await this.stack.nodeFault('restore', node, () => undefined).catch(() => undefined)
      await Promise.all(this.names.map(async n => await this.stack.stop(n).catch(() => undefined)))
      const dir = join(this.outDir, 'logs')
      mkdirSync(dir, { recursive: true })
      for (const name of this.names) {
        let text: string
        try { text = await this.stack.serviceLogs(name) } catch (err) { text = `(no logs: ${(err as Error).message})\n` }
        writeFileSync(join(dir, `${name}.log`), text)
        for (const line of text.split('\n')) if (line.startsWith('{')) this.onLine(line)
      }
    } finally {
      await this.stack.down({ volumes: true })
    }
  }
}

/**
 * Swarm runs a task on a node only with the image there, and this machine has no registry: the
 * image goes by `docker save | docker load` to every node xcon reaches that lacks it (or has another).
 */
async function shareImage (image: string, nodes: SwarmNode[]): Promise<void> {
  const id = async (engine: string | undefined): Promise<string | undefined> =>
    await exec('docker', engineArgs(engine, ['image', 'inspect', '--format', '{{.Id}}', image])).then(r => r.stdout.trim(), () => undefined)
  const here = await id(undefined)
  if (here === undefined) throw new CliError(`--backend stack: no image ${image} here; build it first with scripts/build-image.sh, or name another with --image`)
  for (const node of nodes) {
    if (node.engine === undefined || node.state !== 'ready' || await id(node.engine) === here) continue
    await new Promise<void>((resolve, reject) => {
      const save = spawn('docker', ['save', image], { stdio: ['ignore', 'pipe', 'ignore'] })
      const load = execFile('docker', engineArgs(node.engine, ['load', '-q']), err => { if (err === null) resolve(); else reject(new CliError(`--backend stack: loading ${image} on ${node.hostname}: ${err.message}`)) })
      save.stdout.pipe(load.stdin!)
      save.once('error', reject)
    })
  }
}
