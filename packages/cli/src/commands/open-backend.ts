import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { CliError } from '../cli-error.js'
import { DockerSite, type DockerOptions } from '../site/docker/docker-site.js'
import { LocalSite } from '../site/local/local-site.js'
import { StackSite } from '../site/docker/stack-site.js'
import type { SiteBackend } from '../site/site-backend.js'
import { sitePaths } from '../site/local/site-state.js'
import { XCON } from '../invocation.js'

export interface BackendChoice extends DockerOptions {
  /** --docker (or XCON_BACKEND=docker): the compose project, whatever runs. */
  docker: boolean
  dataDir: string
  /** Whether the data directory was named (--data or XCON_DATA): then it is the local site, whatever runs. */
  explicitData: boolean
  /** --stack NAME: the Swarm stack deployed from the compose file. */
  stack?: string | undefined
}

/**
 * Picks the site a command acts on, the way a user expects: what they named (--docker, --data),
 * else the one that is running, local processes or a compose project in this directory. When
 * both run, or neither does, it says so through `say` and names the flag that picks the other.
 */
export async function openBackend (opts: BackendChoice, say: (line: string, ambiguous: boolean) => void = () => {}): Promise<SiteBackend> {
  const named = opts.stack !== undefined
    ? await StackSite.open({ file: opts.file, stack: opts.stack })
    : opts.docker || process.env.XCON_BACKEND === 'docker' ? await DockerSite.open(opts) : opts.explicitData ? LocalSite.open(opts.dataDir) : undefined
  if (named !== undefined) {
    say(named.label, false)
    return named
  }
  const local = existsSync(sitePaths(opts.dataDir).state) ? LocalSite.open(opts.dataDir) : undefined
  const localRunning = local === undefined ? 0 : local.names.filter(n => local.processState(n) !== 'down').length
  let docker: DockerSite | undefined
  let dockerRunning = 0
  let otherProjects: string[] = []
  if (existsSync(resolve(opts.file ?? 'docker-compose.yml'))) {
    try {
      const d = await DockerSite.open(opts)
      const p = await d.presence()
      if (p.exists) [docker, dockerRunning] = [d, p.running]
      otherProjects = p.otherProjects
    } catch (err) {
      if (local === undefined && err instanceof CliError && opts.file !== undefined) throw err // a broken --file is worth saying
    }
  }
  if (local !== undefined && docker !== undefined) {
    const [chosen, other, flag] = localRunning > 0 || dockerRunning === 0 ? [local, docker, '--docker'] : [docker, local, `--data ${local.dataDir}`]
    say(`${chosen.label} (${running(chosen === local ? localRunning : dockerRunning, chosen.names.length)}); ` +
      `there is also the ${other.label} (${running(chosen === local ? dockerRunning : localRunning, other.names.length)}): ${flag} for that one`, true)
    return chosen
  }
  if (docker !== undefined) {
    say(`${docker.label} (${running(dockerRunning, docker.names.length)})`, dockerRunning === 0)
    return docker
  }
  if (local !== undefined) {
    say(`${local.label} (${running(localRunning, local.names.length)})`, false)
    return local
  }
  if (otherProjects.length > 0) {
    throw new CliError(`no site here under ${sitePaths(opts.dataDir).root} or in the default compose project, but compose ` +
      `${otherProjects.length === 1 ? 'project' : 'projects'} ${otherProjects.join(', ')} ${otherProjects.length === 1 ? 'has' : 'have'} MTA containers here: add --docker --project ${otherProjects[0]!}`)
  }
  throw new CliError(`no site here: nothing under ${sitePaths(opts.dataDir).root} and no MTA containers of a compose project in this directory; ` +
    `start one with "${XCON} up" (or "docker compose up -d"), or name one with --data DIR or --docker`)
}

const running = (n: number, of: number): string => n === 0 ? 'nothing running' : n === of ? `${n} running` : `${n} of ${of} running`
