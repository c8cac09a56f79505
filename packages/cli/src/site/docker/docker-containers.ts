import type { MtaStatusDocument } from '@xcon/core'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** One MTA container, as `docker inspect` describes it. */
export interface ContainerInfo {
  id: string
  created: string
  /** The compose project and service it belongs to (its com.docker.compose.* labels). */
  project: string
  service: string
  server: string
  site: string
  status: string
  pid: number
  adminPort: number | undefined
  /** The host port each published container port maps to ("2525/tcp" → 2601). */
  published: Record<string, number>
  adminToken: string | undefined
  networks: Record<string, string>
  /** The engine that runs it (`docker -H`), when not this machine's own: a task on another node of a swarm. */
  engine?: string | undefined
  /** The swarm node it runs on (its com.docker.swarm.node.id label), for a Swarm task. */
  nodeId?: string | undefined
}

/** `docker` on an engine: this machine's own (undefined), or another node's (-H). */
export function engineArgs (engine: string | undefined, args: string[]): string[] {
  return engine === undefined ? args : ['-H', engine, ...args]
}

interface Inspected {
  Id: string
  Created: string
  State: { Status: string, Pid: number }
  Config?: { Env?: string[], Labels?: Record<string, string> }
  NetworkSettings: { Ports?: Record<string, Array<{ HostIp?: string, HostPort: string }> | null>, Networks?: Record<string, { IPAddress: string }> }
}

/**
 * Every xcon MTA container of the compose projects of one directory, running or not: one
 * `docker ps` and one `docker inspect`, whatever the number of MTAs. Compose (v1 and v2) labels
 * each container with its project's working directory, and the compose file labels each MTA
 * with xcon.server. This is what makes `xcon status --docker` quick: `docker-compose` v1 takes
 * most of a second to start, per call.
 */
export async function listContainers (workingDir: string): Promise<ContainerInfo[]> {
  return await listByLabel(`com.docker.compose.project.working_dir=${workingDir}`)
}

/**
 * Every xcon MTA container that carries `label` (name=value), running or not, in one `docker ps`
 * and one `docker inspect`, on this machine's engine or on `engine`. An engine that does not
 * answer within a few seconds (a node that is down) has none.
 */
export async function listByLabel (label: string, engine?: string): Promise<ContainerInfo[]> {
  const opts = { timeout: engine === undefined ? 0 : 10_000, maxBuffer: 64 * 1024 * 1024 }
  let ids: string[]
  try {
    const { stdout } = await run('docker', engineArgs(engine, ['ps', '-a', '-q', '--no-trunc', '--filter', 'label=xcon.server', '--filter', `label=${label}`]), opts)
    ids = stdout.split('\n').map(s => s.trim()).filter(s => s !== '')
  } catch {
    return [] // no Docker here, or its daemon is not running: no containers
  }
  if (ids.length === 0) return []
  let inspected: Inspected[]
  try {
    inspected = JSON.parse((await run('docker', engineArgs(engine, ['inspect', ...ids]), opts)).stdout) as Inspected[]
  } catch {
    // A container removed between `ps` and `inspect` (being recreated) fails the whole call: one at a time then.
    inspected = (await Promise.all(ids.map(async id => {
      try { return JSON.parse((await run('docker', engineArgs(engine, ['inspect', id]), opts)).stdout) as Inspected[] } catch { return [] }
    }))).flat()
  }
  return inspected.map(c => ({ ...describe(c), ...(engine === undefined ? {} : { engine }) }))
}

function describe (c: Inspected): ContainerInfo {
  const labels = c.Config?.Labels ?? {}
  const published = c.NetworkSettings.Ports?.['7100/tcp']?.[0]?.HostPort
  return {
    id: c.Id,
    created: c.Created,
    project: labels['com.docker.compose.project'] ?? '',
    // A Swarm task's container names its service (stack_service) instead.
    service: labels['com.docker.compose.service'] ?? labels['com.docker.swarm.service.name'] ?? '',
    server: labels['xcon.server'] ?? '',
    site: labels['xcon.site'] ?? '-',
    status: c.State.Status,
    pid: c.State.Pid,
    adminPort: published === undefined ? undefined : Number(published),
    published: Object.fromEntries(Object.entries(c.NetworkSettings.Ports ?? {}).flatMap(([port, bindings]) => bindings?.[0] === undefined ? [] : [[port, Number(bindings[0].HostPort)]])),
    // The compose file sets the token; the CLI reads it from the container it talks to.
    adminToken: c.Config?.Env?.find(e => e.startsWith('XCON_ADMIN_TOKEN='))?.slice('XCON_ADMIN_TOKEN='.length) || undefined,
    networks: Object.fromEntries(Object.entries(c.NetworkSettings.Networks ?? {}).map(([n, v]) => [n, v.IPAddress])),
    nodeId: labels['com.docker.swarm.node.id']
  }
}

/**
 * An MTA's status with its IMS's port as published by its container's node (`docker compose` or
 * a stack's host-mode port: 2525 inside, 2601 outside), or null where it is not published. The
 * MTA itself knows only the port it listens on inside its container.
 */
export function smtpAsPublished (s: MtaStatusDocument, c: ContainerInfo | undefined): MtaStatusDocument {
  if (s.smtp?.port !== undefined && s.smtp.port !== null) s.smtp.port = c?.published[`${s.smtp.port}/tcp`] ?? null
  return s
}

/** The project name compose gives a directory: lower case, only [a-z0-9_-] (as compose v1 and v2 normalise it). */
export function defaultProjectName (dir: string): string {
  const base = dir.split('/').filter(s => s !== '').at(-1) ?? ''
  return base.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[-_]+/, '')
}
