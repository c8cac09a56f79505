import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { stringify as toYaml } from 'yaml'
import { allServers, serializeTopology } from '@xcon/core'
import { CliError } from '../cli-error.js'
import { composeFile, containerTopology, serviceName } from '../site/docker/compose-file.js'
import { loadTopology } from '../site/local/local-site.js'

export interface ComposeCommandOptions {
  topologyFile: string
  outDir: string
  image: string
  /** First published admin port; each server gets the next. */
  adminPort: number
  /** First published IMS port; each server with an IMS gets the next. */
  smtpPort: number
}

/**
 * `xcon compose`: writes a compose project for any topology (several sites, connectors, IMS) into
 * a directory: its docker-compose.yml and the topology its containers read, mounted by a path
 * relative to the compose file, so the directory can be moved or checked in.
 */
export function writeComposeProject (opts: ComposeCommandOptions): { composePath: string, lines: string[] } {
  for (const [flag, port] of [['--admin-port', opts.adminPort], ['--smtp-port', opts.smtpPort]] as const) {
    if (!Number.isInteger(port) || port < 1024 || port > 65000) throw new CliError(`${flag}: expected a port from 1024 to 65000, got ${port}`, 2)
  }
  const topology = loadTopology({ topologyFile: opts.topologyFile })
  const servers = allServers(topology)
  const withIms = servers.filter(s => s.ims !== undefined)
  const adminPorts = Object.fromEntries(servers.map((s, i) => [s.name, opts.adminPort + i]))
  const smtpPorts = Object.fromEntries(withIms.map((s, i) => [s.name, opts.smtpPort + i]))
  const outDir = resolve(opts.outDir)
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'topology.json'), `${JSON.stringify(serializeTopology(containerTopology(topology)), null, 2)}\n`, { mode: 0o644 })
  const composePath = join(outDir, 'docker-compose.yml')
  const source = relative(outDir, resolve(opts.topologyFile))
  const here = relative(process.cwd(), composePath)
  const header = [
    `# Made by: xcon compose --topology ${relative(process.cwd(), resolve(opts.topologyFile))} --out ${relative(process.cwd(), outDir) || '.'}`,
    `# from ${source}: one container per server, reached by its name in lower case on port 7000.`,
    `#   docker compose -f ${here} up -d     (or docker-compose; build the image first: scripts/build-image.sh)`,
    `#   npx xcon status --docker --file ${here}     (every xcon verb works on it, partition included)`,
    '# XCON_BUILD, XCON_TRAFFIC, XCON_CONTROL_BLOCKS, XCON_LEAK_PROBABILITY, XCON_TIME_SCALE override every MTA.',
    '# XCON_ADMIN_TOKEN (default xcon-admin) is the token of every admin API; xcon --docker reads it from the containers.',
    `# Published on 127.0.0.1: ${servers.map(s => `${s.name} admin ${adminPorts[s.name]!}${smtpPorts[s.name] === undefined ? '' : `, SMTP ${smtpPorts[s.name]!}`}`).join('; ')}.`
  ]
  const compose = composeFile(topology, { image: opts.image, topologyFile: './topology.json', adminPorts, smtpPorts, shellOverrides: true })
  writeFileSync(composePath, `${header.join('\n')}\n${toYaml(compose)}`)
  return {
    composePath,
    lines: [
      `wrote ${here} and topology.json: ${servers.length} services (${servers.map(s => serviceName(s.name)).join(', ')})`,
      `run it: docker compose -f ${here} up -d; then: npx xcon status --docker --file ${here}`
    ]
  }
}
