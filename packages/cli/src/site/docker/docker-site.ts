import type { MtaStatusDocument } from '@xcon/core'
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { AdminClient, type SubmitAnswer } from '../admin-client.js'
import { CliError } from '../../cli-error.js'
import { findService, readComposeServices, type ServiceInfo } from './compose-services.js'
import { defaultProjectName, listContainers, smtpAsPublished, type ContainerInfo } from './docker-containers.js'
import { NODE_FAULTS_ON_STACKS, type LogsOptions, type ProcessState, type SiteBackend } from '../site-backend.js'
import { siteActionLog } from '../site-action-log.js'
import { dockerLogs } from './docker-logs.js'
import { XCON } from '../../invocation.js'
import { waitUntil } from '../../wait-until.js'

const run = promisify(execFile)

export interface DockerOptions {
  /** The compose file; default docker-compose.yml in the current directory. */
  file?: string | undefined
  /** The compose project name; default as compose chooses (the directory name). */
  project?: string | undefined
}

/** `docker compose` (v2) if the plugin is there, else `docker-compose` (v1). */
async function composeCommand (): Promise<string[]> {
  try {
    await run('docker', ['compose', 'version'])
    return ['docker', 'compose']
  } catch {
    try {
      await run('docker-compose', ['version'])
      return ['docker-compose']
    } catch {
      throw new CliError('neither "docker compose" nor "docker-compose" is installed')
    }
  }
}

/** How long one listing of the containers answers every question about them (one status, say). */
const SNAPSHOT_MS = 1000

/**
 * The docker backend: the MTAs are the services of a compose project, found by their labels
 * (`xcon.server`, `xcon.site`); every verb is a compose or docker command, and status and
 * submissions go to each container's admin port as published on 127.0.0.1. Reading state costs
 * one `docker ps` and one `docker inspect` for all MTAs; compose itself runs only to change them.
 */
export class DockerSite implements SiteBackend {
  readonly kind = 'docker' as const
  private composeCmd: Promise<string[]> | undefined
  private snapshot: { at: number, containers: Promise<Map<string, ContainerInfo>> } | undefined

  private constructor (
    private readonly file: string,
    private readonly projectOption: string | undefined,
    private readonly defaultProject: string,
    private readonly services: ServiceInfo[],
    readonly env: NodeJS.ProcessEnv
  ) {}

  static async open (opts: DockerOptions, env: NodeJS.ProcessEnv = process.env): Promise<DockerSite> {
    const file = resolve(opts.file ?? 'docker-compose.yml')
    if (!existsSync(file)) throw new CliError(`no compose file at ${file}: run from the xcon directory or name it with --file`)
    const { services, name } = await readComposeServices(file, composeCommand, env)
    if (services.length === 0) throw new CliError(`${file} has no service labelled xcon.server`)
    return new DockerSite(file, opts.project, env.COMPOSE_PROJECT_NAME ?? name ?? defaultProjectName(dirname(file)), services, env)
  }

  /** The compose project this site is: --project, else COMPOSE_PROJECT_NAME, the file's name, or the directory's. */
  get project (): string {
    return this.projectOption ?? this.defaultProject
  }

  /**
   * Whether any MTA container of this project exists, how many run, and which other projects of
   * the same compose directory have some (started with -p): one `docker ps`.
   */
  async presence (): Promise<{ exists: boolean, running: number, otherProjects: string[] }> {
    const everything = await listContainers(dirname(this.file))
    const all = everything.filter(c => c.project === this.project)
    this.snapshot = { at: Date.now(), containers: Promise.resolve(new Map(all.map(c => [c.server, c]))) }
    return {
      exists: all.length > 0,
      running: all.filter(c => c.status === 'running' || c.status === 'paused').length,
      otherProjects: [...new Set(everything.map(c => c.project).filter(p => p !== this.project))]
    }
  }

  describe (): Record<string, unknown> {
    return { kind: 'docker', project: this.project, file: this.file }
  }

  /** The CLI's actions on this project, beside the compose file (the containers' own logs are docker's). */
  get actionLogFile (): string {
    return join(dirname(this.file), '.xcon', `compose-${this.project}-actions.log`)
  }

  get label (): string {
    return `compose project ${this.project} (${this.file})`
  }

  get names (): string[] {
    return this.services.map(s => s.server)
  }

  private info (name: string): ServiceInfo {
    return findService(this.services, name)
  }

  resolve (name: string): string {
    return this.info(name).server
  }

  siteOf (name: string): string {
    return this.info(name).site
  }

  private async command (): Promise<string[]> {
    this.composeCmd ??= composeCommand()
    return await this.composeCmd
  }

  /** The full command line of one compose command. */
  async argv (args: string[]): Promise<string[]> {
    return [...await this.command(), '-f', this.file, '-p', this.project, ...args]
  }

  /** Runs one compose command; its output is returned, or shown when `inherit`. Forgets what it knew of the containers. */
  async compose (args: string[], inherit = false): Promise<string> {
    this.snapshot = undefined
    const [cmd, ...argv] = await this.argv(args)
    const shown = `${cmd!} ${argv.join(' ')}`
    try {
      if (inherit) {
        await new Promise<void>((resolve, reject) => {
          const child = spawn(cmd!, argv, { cwd: dirname(this.file), env: this.env, stdio: 'inherit' })
          child.once('error', reject)
          child.once('exit', code => code === 0 ? resolve() : reject(new CliError(`${shown} exited with ${code}`)))
        })
        return ''
      }
      try {
        const { stdout } = await run(cmd!, argv, { cwd: dirname(this.file), env: this.env, maxBuffer: 64 * 1024 * 1024 })
        return stdout
      } catch (err) {
        throw new CliError(`${shown}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
      }
    } finally {
      this.snapshot = undefined
    }
  }

  /** This project's MTA containers by server name, from one listing shared by the calls of the next second. */
  private async containers (): Promise<Map<string, ContainerInfo>> {
    if (this.snapshot === undefined || Date.now() - this.snapshot.at > SNAPSHOT_MS) {
      const project = this.project
      this.snapshot = {
        at: Date.now(),
        containers: listContainers(dirname(this.file)).then(all => new Map(all.filter(c => c.project === project).map(c => [c.server, c])))
      }
    }
    return await this.snapshot.containers
  }

  /** The container of one server, or undefined when it has not been created. */
  async container (name: string): Promise<ContainerInfo | undefined> {
    return (await this.containers()).get(this.resolve(name))
  }

  async processState (name: string): Promise<ProcessState> {
    const c = await this.container(name)
    if (c === undefined) return 'down'
    if (c.status === 'paused') return 'paused'
    return c.status === 'running' ? 'running' : 'down'
  }

  async metricsUrl (name: string): Promise<string | null> {
    const c = await this.container(name)
    return c?.adminPort === undefined ? null : `http://127.0.0.1:${c.adminPort}/metrics`
  }

  private async admin (name: string): Promise<AdminClient> {
    const c = await this.container(name)
    if (c?.adminPort === undefined) throw new CliError(`${this.resolve(name)} has no published admin port (is its container running?)`)
    return new AdminClient(this.resolve(name), '127.0.0.1', c.adminPort, c.adminToken ?? process.env.XCON_ADMIN_TOKEN)
  }

  /** `docker compose up -d`, then waits for every MTA. */
  async up (build: boolean): Promise<void> {
    try {
      await this.compose(['up', '-d', ...(build ? ['--build'] : [])], true)
    } catch (err) {
      // Most often the image: compose builds it on a base it must pull, and there may be no registry.
      throw new CliError(`${(err as Error).message}. If it could not pull or build the image, build it here first: scripts/build-image.sh (it makes xcon:latest without a registry), then ${XCON} up --docker again`)
    }
    await Promise.all(this.names.map(async n => await this.waitReady(n, 60_000)))
  }

  async down (opts: { volumes: boolean }): Promise<string[]> {
    await this.compose(['down', ...(opts.volumes ? ['--volumes'] : [])], true)
    return [opts.volumes
      ? `removed compose project ${this.project}: its containers, network and volumes (the queues with them)`
      : `removed compose project ${this.project}'s containers and network; its volumes keep the queues (${XCON} down --docker --volumes removes them)`]
  }

  async logs (opts: LogsOptions, out: (line: string) => void): Promise<void> {
    await dockerLogs(this, opts, out)
  }

  async partition (server: string, from: string[] | undefined): Promise<string> {
    siteActionLog(this)('partition', this.resolve(server))
    const { partition } = await import('./docker-partition.js')
    return await partition(this, server, from)
  }

  async nodeOf (): Promise<undefined> { return undefined }

  async nodeFault (): Promise<string[]> {
    throw new CliError(`${NODE_FAULTS_ON_STACKS}; not on ${this.label}`, 2)
  }

  async heal (server: string | undefined): Promise<string> {
    const { heal } = await import('./docker-partition.js')
    const healed = await heal(this, server)
    for (const name of healed) siteActionLog(this)('heal', name)
    return healed.length === 0 ? 'nothing to heal' : `healed ${healed.join(', ')}`
  }

  links (): undefined { return undefined }
  topology (): undefined { return undefined }

  async start (name: string): Promise<void> {
    await this.compose(['start', this.info(name).service])
    await this.waitReady(name)
  }

  async waitReady (name: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    // Until its container runs, it has no published port and admin() throws: the last such error is the answer.
    let lastError: unknown
    const client = await waitUntil(async () => await this.admin(name), { timeoutMs, intervalMs: 200, failed: err => { lastError = err } })
    if (client === undefined) throw lastError ?? new CliError(`${this.resolve(name)} did not become ready within ${timeoutMs / 1000} s`)
    await client.waitReady(Math.max(1000, deadline - Date.now()), async () => await this.processState(name) !== 'down', `docker compose logs ${this.info(name).service}`)
  }

  async kill (name: string): Promise<void> {
    await this.compose(['kill', this.info(name).service])
  }

  async stop (name: string): Promise<void> {
    await this.compose(['stop', '-t', '20', this.info(name).service])
  }

  async restart (name: string): Promise<void> {
    await this.compose(['restart', '-t', '20', this.info(name).service])
    await this.waitReady(name)
  }

  async pause (name: string): Promise<void> {
    await this.compose(['pause', this.info(name).service])
  }

  async resume (name: string): Promise<void> {
    await this.compose(['unpause', this.info(name).service])
  }

  /** The MTA's status, with its IMS's port as this host reaches it (smtpAsPublished). */
  async fetchStatus (name: string, timeoutMs = 1500): Promise<MtaStatusDocument | undefined> {
    let s: MtaStatusDocument | undefined
    try { s = await (await this.admin(name)).status(timeoutMs) } catch { return undefined }
    return s === undefined ? undefined : smtpAsPublished(s, await this.container(name))
  }

  async submit (name: string, body: Record<string, unknown>): Promise<string[]> {
    return (await this.submitMail(name, body)).mtsIds
  }

  async submitMail (name: string, body: Record<string, unknown>): Promise<SubmitAnswer> {
    return await (await this.admin(name)).submitMail(body)
  }

  /** The compose service of a server, for `docker compose logs`. */
  service (name: string): string {
    return this.info(name).service
  }
}
