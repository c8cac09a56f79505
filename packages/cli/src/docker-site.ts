import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { promisify } from 'node:util'
import { parse as parseYaml } from 'yaml'
import { AdminClient } from './admin-client.js'
import { CliError } from './cli-error.js'
import type { ProcessState } from './processes.js'
import type { SiteBackend } from './site-backend.js'

const run = promisify(execFile)

export interface DockerOptions {
  /** The compose file; default docker-compose.yml in the current directory. */
  file?: string | undefined
  /** The compose project name; default as compose chooses (the directory name). */
  project?: string | undefined
}

interface ServiceInfo { service: string, server: string, site: string }
interface ContainerInfo { id: string, status: string, pid: number, adminPort: number | undefined, adminToken: string | undefined, networks: Record<string, string> }

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

/**
 * The docker backend: the MTAs are the services of a compose project, found by their labels
 * (`xcon.server`, `xcon.site`); every verb is a compose or docker command, and status and
 * submissions go to each container's admin port as published on 127.0.0.1.
 */
export class DockerSite implements SiteBackend {
  readonly kind = 'docker' as const

  private constructor (
    private readonly composeCmd: string[],
    private readonly file: string,
    private readonly project: string | undefined,
    private readonly services: ServiceInfo[],
    readonly env: NodeJS.ProcessEnv
  ) {}

  static async open (opts: DockerOptions, env: NodeJS.ProcessEnv = process.env): Promise<DockerSite> {
    const file = resolve(opts.file ?? 'docker-compose.yml')
    if (!existsSync(file)) throw new CliError(`no compose file at ${file}: run from the xcon directory or name it with --file`)
    const composeCmd = await composeCommand()
    const base = [...composeCmd.slice(1), '-f', file, ...(opts.project === undefined ? [] : ['-p', opts.project])]
    let config: { services?: Record<string, { labels?: Record<string, string> | string[] }> }
    try {
      const { stdout } = await run(composeCmd[0]!, [...base, 'config'], { cwd: dirname(file), env })
      config = parseYaml(stdout) as typeof config
    } catch (err) {
      throw new CliError(`${file}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
    }
    const services: ServiceInfo[] = []
    for (const [service, spec] of Object.entries(config.services ?? {})) {
      const labels = Array.isArray(spec.labels)
        ? Object.fromEntries(spec.labels.map(l => l.split('=', 2) as [string, string]))
        : spec.labels ?? {}
      if (labels['xcon.server'] !== undefined) services.push({ service, server: labels['xcon.server'], site: labels['xcon.site'] ?? '-' })
    }
    if (services.length === 0) throw new CliError(`${file} has no service labelled xcon.server`)
    return new DockerSite(composeCmd, file, opts.project, services, env)
  }

  get names (): string[] {
    return this.services.map(s => s.server)
  }

  private info (name: string): ServiceInfo {
    const found = this.services.find(s => s.server.toUpperCase() === name.toUpperCase() || s.service === name.toLowerCase())
    if (found === undefined) throw new CliError(`unknown MTA "${name}": the site has ${this.names.join(', ')}`, 2)
    return found
  }

  resolve (name: string): string {
    return this.info(name).server
  }

  siteOf (name: string): string {
    return this.info(name).site
  }

  /** The full command line of one compose command. */
  argv (args: string[]): string[] {
    return [...this.composeCmd, '-f', this.file, ...(this.project === undefined ? [] : ['-p', this.project]), ...args]
  }

  /** Runs one compose command; its output is returned, or shown when `inherit`. */
  async compose (args: string[], inherit = false): Promise<string> {
    const [cmd, ...argv] = this.argv(args)
    if (inherit) {
      await new Promise<void>((resolve, reject) => {
        const child = spawn(cmd!, argv, { cwd: dirname(this.file), env: this.env, stdio: 'inherit' })
        child.once('error', reject)
        child.once('exit', code => code === 0 ? resolve() : reject(new CliError(`${this.composeCmd.join(' ')} ${args.join(' ')} exited with ${code}`)))
      })
      return ''
    }
    try {
      const { stdout } = await run(cmd!, argv, { cwd: dirname(this.file), env: this.env, maxBuffer: 64 * 1024 * 1024 })
      return stdout
    } catch (err) {
      throw new CliError(`${this.composeCmd.join(' ')} ${args.join(' ')}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
    }
  }

  /** The container of one server, or undefined when it has not been created. */
  async container (name: string): Promise<ContainerInfo | undefined> {
    const id = (await this.compose(['ps', '-q', this.info(name).service])).trim()
    if (id === '') return undefined
    let stdout: string
    try {
      ({ stdout } = await run('docker', ['inspect', id]))
    } catch {
      return undefined // removed between `ps` and `inspect` (being recreated): not there yet
    }
    const [c] = JSON.parse(stdout) as Array<{
      Id: string
      State: { Status: string, Pid: number }
      Config?: { Env?: string[] }
      NetworkSettings: { Ports?: Record<string, Array<{ HostPort: string }> | null>, Networks?: Record<string, { IPAddress: string }> }
    }>
    if (c === undefined) return undefined
    const published = c.NetworkSettings.Ports?.['7100/tcp']?.[0]?.HostPort
    return {
      id: c.Id,
      status: c.State.Status,
      pid: c.State.Pid,
      adminPort: published === undefined ? undefined : Number(published),
      // The compose file sets the token; the CLI reads it from the container it talks to.
      adminToken: c.Config?.Env?.find(e => e.startsWith('XCON_ADMIN_TOKEN='))?.slice('XCON_ADMIN_TOKEN='.length) || undefined,
      networks: Object.fromEntries(Object.entries(c.NetworkSettings.Networks ?? {}).map(([n, v]) => [n, v.IPAddress]))
    }
  }

  async processState (name: string): Promise<ProcessState> {
    const c = await this.container(name)
    if (c === undefined) return 'down'
    if (c.status === 'paused') return 'paused'
    return c.status === 'running' ? 'running' : 'down'
  }

  private async admin (name: string): Promise<AdminClient> {
    const c = await this.container(name)
    if (c?.adminPort === undefined) throw new CliError(`${this.resolve(name)} has no published admin port (is its container running?)`)
    return new AdminClient(this.resolve(name), '127.0.0.1', c.adminPort, c.adminToken ?? process.env.XCON_ADMIN_TOKEN)
  }

  /** `docker compose up -d`, then waits for every MTA. */
  async up (build: boolean): Promise<void> {
    await this.compose(['up', '-d', ...(build ? ['--build'] : [])], true)
    await Promise.all(this.names.map(async n => await this.waitReady(n, 60_000)))
  }

  async down (volumes: boolean): Promise<void> {
    await this.compose(['down', ...(volumes ? ['--volumes'] : [])], true)
  }

  async start (name: string): Promise<void> {
    await this.compose(['start', this.info(name).service])
    await this.waitReady(name)
  }

  async waitReady (name: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let client: AdminClient | undefined
    while (client === undefined) {
      try { client = await this.admin(name) } catch (err) { if (Date.now() > deadline) throw err }
      if (client === undefined) await new Promise(resolve => setTimeout(resolve, 200))
    }
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

  async fetchStatus (name: string, timeoutMs = 1500): Promise<Record<string, unknown> | undefined> {
    try { return await (await this.admin(name)).status(timeoutMs) } catch { return undefined }
  }

  async submit (name: string, body: Record<string, unknown>): Promise<string[]> {
    return await (await this.admin(name)).submit(body)
  }

  /** The compose service of a server, for `docker compose logs`. */
  service (name: string): string {
    return this.info(name).service
  }
}
