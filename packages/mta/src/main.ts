import { mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_TOPOLOGY_YAML, parseTopology, resolveMtaConfig, XconError } from '@xcon/core'
import { createAdminServer } from './admin-server.js'
import { createLogger } from './logger.js'
import { Mta } from './mta.js'
import { TrafficGenerator } from './traffic.js'

/**
 * `xcon-mta`: one MTA process. Configured by flags or `XCON_*` variables (flags win):
 * --topology/XCON_TOPOLOGY (a YAML or JSON file; the default site if none), --server/XCON_SERVER,
 * --data/XCON_DATA_DIR (default ./.xcon/data). Exits 0 after SIGTERM/SIGINT, 2 on bad configuration.
 */
async function main (): Promise<void> {
  const { values } = parseArgs({
    options: { topology: { type: 'string' }, server: { type: 'string' }, data: { type: 'string' } },
    strict: true
  })
  const env = process.env
  const topologyFile = values.topology ?? env.XCON_TOPOLOGY
  const serverName = values.server ?? env.XCON_SERVER
  if (serverName === undefined || serverName === '') throw new UsageError('name the server: --server SRV-A or XCON_SERVER=SRV-A')
  const topology = topologyFile === undefined || topologyFile === ''
    ? parseTopology(DEFAULT_TOPOLOGY_YAML, '(default topology)')
    : parseTopology(readFileSync(topologyFile, 'utf8'), topologyFile)
  const config = resolveMtaConfig(topology, serverName, env)
  const dataDir = resolve(values.data ?? env.XCON_DATA_DIR ?? '.xcon/data', config.server.name)
  mkdirSync(dataDir, { recursive: true })

  const log = createLogger({ server: config.server.name, site: config.site.name, build: config.server.build })
  const mta = new Mta(config, { log, storePath: join(dataDir, 'store') })
  const admin = createAdminServer(mta)
  const traffic = new TrafficGenerator(mta, config)

  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ category: 'MTA Administration', signal }, `${signal} received, closing down`)
    traffic.stop()
    mta.stop().then(() => {
      admin.close()
      process.exit(0)
    }, (err: Error) => {
      log.fatal({ err }, 'closedown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; the MTA stops')
    process.exit(1)
  })

  // The admin API comes up first, so that whoever waits for 9298 can ask for status at once.
  await new Promise<void>((resolve, reject) => {
    admin.once('error', reject)
    admin.listen(config.server.adminPort ?? 0, config.server.adminHost, () => resolve())
  })
  const address = admin.address()
  log.info({ category: 'MTA Administration', adminPort: typeof address === 'object' && address !== null ? address.port : null }, 'admin API listening')
  await mta.start()
  traffic.start()
}

class UsageError extends Error {}

main().catch((err: Error) => {
  // Configuration problems are the user's to fix: one clear line on stderr, exit code 2.
  if (err instanceof XconError || err instanceof UsageError || (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    process.stderr.write(`xcon-mta: ${err.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`xcon-mta: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
