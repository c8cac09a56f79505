import { execFile, execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from '@xcon/cli'
import { XCON } from './site-harness.js'

/** docker-compose.yml turns the admin token on (XCON_ADMIN_TOKEN, default xcon-admin): a client sends it, as curl -H would. */
const ADMIN = { authorization: `Bearer ${process.env.XCON_ADMIN_TOKEN ?? 'xcon-admin'}` }

export { freePort }

const run = promisify(execFile)
export const ROOT = resolve(import.meta.dirname, '../..')

/** Whether a Docker engine answers here (checked once, with a timeout, so a dead daemon cannot hang the suite). */
export function dockerAvailable (): { ok: boolean, why: string } {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 15_000, stdio: 'pipe' })
  } catch (err) {
    return { ok: false, why: (err as { code?: string }).code === 'ENOENT' ? 'no docker command' : 'the Docker engine does not answer' }
  }
  for (const compose of [['docker', 'compose', 'version'], ['docker-compose', 'version']]) {
    try {
      execFileSync(compose[0]!, compose.slice(1), { timeout: 15_000, stdio: 'pipe' })
      return { ok: true, why: '' }
    } catch { /* try the next */ }
  }
  return { ok: false, why: 'neither docker compose nor docker-compose is installed' }
}

/** A compose site driven through the real `xcon --docker` command, with its own project name and ports. */
export class DockerTestSite {
  constructor (readonly project: string, readonly env: NodeJS.ProcessEnv, readonly ports: Record<string, number>) {}

  static async create (project: string, env: Record<string, string>): Promise<DockerTestSite> {
    const ports: Record<string, number> = {}
    for (const s of ['A', 'B', 'C', 'D']) ports[`SRV-${s}`] = await freePort()
    const portEnv = Object.fromEntries(Object.entries(ports).map(([s, p]) => [`XCON_PORT_${s.slice(-1)}`, String(p)]))
    return new DockerTestSite(project, { ...process.env, XCON_IMAGE: 'xcon:latest', ...portEnv, ...env }, ports)
  }

  async xcon (...args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, [XCON, ...args, '--docker', '--project', this.project, '--file', resolve(ROOT, 'docker-compose.yml')], { cwd: ROOT, env: this.env, timeout: 180_000, maxBuffer: 64 << 20 })
    return stdout
  }

  async status (server: string): Promise<any> {
    const res = await fetch(`http://127.0.0.1:${this.ports[server]!}/status`, { headers: ADMIN, signal: AbortSignal.timeout(3000) })
    return await res.json()
  }

  async deliveries (server: string): Promise<Array<{ mtsId: string }>> {
    const res = await fetch(`http://127.0.0.1:${this.ports[server]!}/deliveries`, { headers: ADMIN, signal: AbortSignal.timeout(3000) })
    return ((await res.json()) as { deliveries: Array<{ mtsId: string }> }).deliveries
  }

  async send (from: string, to: string, count: number): Promise<string[]> {
    return (JSON.parse(await this.xcon('send', '--from', from, '--to', to, '--count', String(count), '--json')) as { mtsIds: string[] }).mtsIds
  }

  /** The JSON log lines of one MTA, read with `xcon logs --docker --json`. */
  async logs (server: string, eventId?: number): Promise<Array<Record<string, any>>> {
    const out = await this.xcon('logs', '--server', server, '--json')
    return out.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, any>)
      .filter(r => eventId === undefined || r.eventId === eventId)
  }

  /** Removes the containers, network and volumes, whatever state they are in. */
  async destroy (): Promise<void> {
    try { await this.xcon('down', '--volumes') } catch { /* nothing to remove */ }
  }
}

/** Builds xcon:latest (cached layers make a rebuild quick), on the official base or an offline one. */
export async function buildImage (): Promise<string> {
  const { stdout } = await run('bash', [resolve(ROOT, 'scripts/build-image.sh')], { cwd: ROOT, timeout: 600_000 })
  return stdout.trim()
}

const swarmState = (): string => { try { return execFileSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { encoding: 'utf8', timeout: 15_000 }).trim() } catch { return 'unknown' } }

/**
 * Why the Swarm test must not make a swarm here, or '' when it may. Leaving a swarm (`swarm leave
 * --force`) disconnected every container of a compose site running beside it from its network,
 * 0.1 s after the leave, and only `down` and `up -d` mended them: so the test makes no swarm on an
 * engine that is in one already or runs any container at all.
 */
export function swarmTestBlocker (): string {
  const docker = dockerAvailable()
  if (!docker.ok) return docker.why
  if (swarmState() !== 'inactive') return 'this Docker engine is already part of a swarm (the test makes its own and leaves it)'
  let others: string[] = []
  try { others = execFileSync('docker', ['ps', '--format', '{{.Names}}'], { encoding: 'utf8', timeout: 15_000 }).split('\n').filter(n => n !== '') } catch { /* none listed */ }
  if (others.length === 0) return ''
  const one = others.length === 1
  return `${others.length} other container${one ? ' runs' : 's run'} on this Docker engine (${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''}), ` +
    `and leaving the test's swarm would cut ${one ? 'it off its networks' : 'them off their networks'}; stop ${one ? 'it' : 'them'}, or run the test on an engine of its own`
}

/**
 * Why the two-node Swarm test must not run here, or '' when it may: the Swarm test's own rule
 * (no swarm, no other container on the engine), and what scripts/two-node-swarm.sh needs (root,
 * network namespaces, nsenter and unshare), and no node of that name left by someone else.
 */
export function twoNodeBlocker (nodeName: string): string {
  const swarm = swarmTestBlocker()
  if (swarm !== '') return swarm
  if (process.getuid?.() !== 0) return 'not root (a second Docker engine in a network namespace needs root)'
  for (const tool of ['ip', 'nsenter', 'unshare', 'dockerd']) {
    try { execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'pipe' }) } catch { return `no ${tool} command` }
  }
  try { execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' }) } catch { return 'ip netns does not work here' }
  try { execFileSync('test', ['!', '-e', `/run/${nodeName}`]) } catch { return `/run/${nodeName} exists: a node of that name is made already (scripts/two-node-swarm.sh down removes it)` }
  return ''
}
