import { execFile, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { DEFAULT_TOPOLOGY_YAML } from '@xcon/core'
import { freePorts } from '@xcon/cli'
import { BenchSite } from './bench-site.js'

const run = promisify(execFile)
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const XCON = join(ROOT, 'packages/cli/bin/xcon.js')

export interface StatusLatency { runs: number, medianSeconds: number, maxSeconds: number }

/** Wall time of `xcon status` as a user runs it (a new node process each time), `runs` times. */
async function timeStatus (args: string[], env: NodeJS.ProcessEnv, runs: number): Promise<StatusLatency> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    await run(process.execPath, [XCON, 'status', ...args], { cwd: ROOT, env, timeout: 30_000 })
    times.push((performance.now() - t0) / 1000)
  }
  times.sort((a, b) => a - b)
  return { runs, medianSeconds: times[Math.floor(runs / 2)]!, maxSeconds: times.at(-1)! }
}

/** `xcon status` on the default four-MTA site as local processes. */
export async function localStatusLatency (runs = 7): Promise<StatusLatency> {
  const b = await BenchSite.start(DEFAULT_TOPOLOGY_YAML)
  try {
    return await timeStatus(['--data', b.site.dataDir], process.env, runs)
  } finally {
    await b.close()
  }
}

/**
 * `xcon status --docker` on the compose site (a project of its own, on free ports), or why it
 * could not run: no engine, no compose, or no xcon:latest image (scripts/build-image.sh).
 */
export async function dockerStatusLatency (runs = 7): Promise<StatusLatency | { why: string }> {
  try {
    execFileSync('docker', ['image', 'inspect', 'xcon:latest'], { stdio: 'pipe', timeout: 15_000 })
  } catch {
    return { why: 'no Docker engine or no xcon:latest image (scripts/build-image.sh)' }
  }
  const file = join(ROOT, 'docker-compose.yml')
  if (!existsSync(file)) return { why: 'no docker-compose.yml' }
  const ports = await freePorts(4)
  const env = { ...process.env, XCON_TRAFFIC: 'light', ...Object.fromEntries(['A', 'B', 'C', 'D'].map((s, i) => [`XCON_PORT_${s}`, String(ports[i])])) }
  const args = ['--docker', '--project', 'xcon-bench-status', '--file', file]
  try {
    await run(process.execPath, [XCON, 'up', '-d', ...args], { cwd: ROOT, env, timeout: 180_000 })
    return await timeStatus(args, env, runs)
  } finally {
    await run(process.execPath, [XCON, 'down', '--volumes', ...args], { cwd: ROOT, env, timeout: 180_000 }).catch(() => undefined)
  }
}
