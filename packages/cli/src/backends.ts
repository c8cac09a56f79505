import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { DockerSite, type DockerOptions } from './docker-site.js'
import { LocalSite } from './local-site.js'
import type { SiteBackend } from './site-backend.js'
import { sitePaths } from './site-state.js'

/**
 * Picks the backend: `--docker` (or XCON_BACKEND=docker) says docker; otherwise a local site
 * under the data directory wins; otherwise a compose project with running MTAs is used; otherwise
 * local, whose error then says how to start a site.
 */
export async function openBackend (opts: { docker: boolean, dataDir: string } & DockerOptions): Promise<SiteBackend> {
  if (opts.docker || process.env.XCON_BACKEND === 'docker') return await DockerSite.open(opts)
  if (existsSync(sitePaths(opts.dataDir).state)) return LocalSite.open(opts.dataDir)
  if (existsSync(resolve(opts.file ?? 'docker-compose.yml'))) {
    try {
      const docker = await DockerSite.open(opts)
      if ((await docker.compose(['ps', '-q'])).trim() !== '') return docker
    } catch { /* no Docker here: fall through */ }
  }
  return LocalSite.open(opts.dataDir)
}
