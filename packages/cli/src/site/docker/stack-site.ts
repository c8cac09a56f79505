import type { MtaStatusDocument } from '@xcon/core'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { AdminClient, type AdminTransport, type SubmitAnswer } from '../admin-client.js'
import { CliError } from '../../cli-error.js'
import { findService, readComposeServices, type ServiceInfo } from './compose-services.js'
import { listByLabel, type ContainerInfo } from './docker-containers.js'
import type { LogsOptions, ProcessState, SiteBackend } from '../site-backend.js'
import { dockerLogs } from './docker-logs.js'
import { waitUntil } from '../../wait-until.js'

const run = promisify(execFile)

/** The admin port inside every MTA container (the compose file publishes it as 7101 …). */
const ADMIN_PORT_IN_CONTAINER = 7100

/**
 * Reaches an MTA's admin API from inside its own container (`docker exec … node -e`): Swarm's
 * routing mesh publishes ports on every node, but not on every host (not on this project's CI
 * machine), and a task's container always has node and loopback.
 */
function execTransport (container: string): AdminTransport {
  const script = `const [p,m,h]=process.argv.slice(1);const c=[];process.stdin.on('data',d=>c.push(d)).on('end',()=>{` +
    `fetch('http://127.0.0.1:${ADMIN_PORT_IN_CONTAINER}'+p,{method:m,headers:JSON.parse(h),body:m==='GET'?undefined:Buffer.concat(c)})` +
    `.then(async r=>process.stdout.write(JSON.stringify({status:r.status,statusText:r.statusText,contentType:r.headers.get('content-type')||'',text:await r.text()})),` +
    `e=>{process.stderr.write(String(e));process.exit(3)})})`
  return async (path, init, signal) => await new Promise((resolve, reject) => {
    const child = execFile('docker', ['exec', '-i', container, 'node', '-e', script, path, init.method, JSON.stringify(init.headers)], { signal, maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err !== null) { reject(err); return }
      try { resolve(JSON.parse(stdout) as Awaited<ReturnType<AdminTransport>>) } catch (e) { reject(e as Error) }
    })
    child.stdin?.end(init.body ?? '')
  })
}

/** How long `down` waits for Swarm to remove the stack's networks (they go in a few seconds). */
const STACK_RM_WAIT_MS = 30_000

/**
 * The Swarm backend (`--stack NAME`): the MTAs are the services of a stack deployed from the
 * compose file (`NAME_srv-a` …), found by their xcon.server labels; the verbs are docker service
 * and docker container commands. Swarm has no kill and no start: `kill` kills the task's
 * container (the file's restart policy, condition none, keeps it down), `stop` scales the
 * service to 0, `start` scales it to 1 or, when a dead task holds it at 1, forces a new task.
 */
export class StackSite implements SiteBackend {
  readonly kind = 'docker' as const

  /** One listing of the stack's containers answers every question of the next second; a change forgets it. */
  private snapshot: { at: number, tasks: Promise<ContainerInfo[]> } | undefined

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

  private async docker (args: string[]): Promise<string> {
    this.snapshot = undefined
    try {
      return (await run('docker', args, { maxBuffer: 64 << 20 })).stdout
    } catch (err) {
      throw new CliError(`docker ${args.join(' ')}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
    }
  }

  /** The current task container of a server: the running (or paused) one, else the newest. */
  async container (name: string): Promise<ContainerInfo | undefined> {
    const service = this.service(name)
    if (this.snapshot === undefined || Date.now() - this.snapshot.at > 1000) this.snapshot = { at: Date.now(), tasks: listByLabel(`com.docker.stack.namespace=${this.stack}`) }
    const tasks = (await this.snapshot.tasks).filter(c => c.service === service)
    return tasks.find(c => c.status === 'running' || c.status === 'paused') ?? tasks.sort((a, b) => b.created.localeCompare(a.created))[0]
  }

  async processState (name: string): Promise<ProcessState> {
    const c = await this.container(name)
    return c?.status === 'paused' ? 'paused' : c?.status === 'running' ? 'running' : 'down'
  }

  /** A stack's admin ports are reached inside the containers (docker exec), not published: no scrape URL from here. */
  metricsUrl (): null {
    return null
  }

  private async admin (name: string): Promise<AdminClient> {
    const c = await this.container(name)
    if (c === undefined || c.status !== 'running') throw new CliError(`${this.resolve(name)} is not running`)
    return new AdminClient(this.resolve(name), '127.0.0.1', ADMIN_PORT_IN_CONTAINER, c.adminToken ?? process.env.XCON_ADMIN_TOKEN, execTransport(c.id))
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
  async down (): Promise<string[]> {
    await this.removeStack()
    return [`removed stack ${this.stack} (its volumes stay: docker volume ls -f name=${this.stack}_)`]
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
    if (c !== undefined && c.status === 'running') await this.docker(['kill', c.id])
  }

  async stop (name: string): Promise<void> {
    await this.docker(['service', 'scale', '--detach=false', `${this.service(name)}=0`])
  }

  async start (name: string): Promise<void> {
    if (await this.processState(name) === 'running') return
    const replicas = (await this.docker(['service', 'inspect', '--format', '{{.Spec.Mode.Replicated.Replicas}}', this.service(name)])).trim()
    // At 1 replica with its task dead (restart policy none), Swarm starts nothing until forced.
    await this.docker(replicas === '0' ? ['service', 'scale', '--detach=false', `${this.service(name)}=1`] : ['service', 'update', '--force', '--detach=false', this.service(name)])
    await this.waitReady(name)
  }

  async restart (name: string): Promise<void> {
    await this.docker(['service', 'update', '--force', '--detach=false', this.service(name)])
    await this.waitReady(name)
  }

  async pause (name: string): Promise<void> {
    const c = await this.container(name)
    if (c?.status !== 'running') throw new CliError(`${this.resolve(name)} is not running`)
    await this.docker(['pause', c.id])
  }

  async resume (name: string): Promise<void> {
    const c = await this.container(name)
    if (c?.status === 'paused') await this.docker(['unpause', c.id])
  }

  async fetchStatus (name: string, timeoutMs = 5000): Promise<MtaStatusDocument | undefined> {
    try { return await (await this.admin(name)).status(timeoutMs) } catch { return undefined }
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
