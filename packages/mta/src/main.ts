import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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
  // The CLI finds this process by it even when site.json could not be written (a full disk).
  const pidFile = join(dataDir, 'mta.pid')
  writeFileSync(pidFile, `${process.pid}\n`)

  const log = createLogger({ server: config.server.name, site: config.site.name, build: config.server.build })
  const mta = new Mta(config, { log, storePath: join(dataDir, 'store') })
  const admin = createAdminServer(mta)
  const traffic = new TrafficGenerator(mta, config)

  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ category: 'MTA Administration', signal }, `${signal} received, closing down`)
    // A closedown that cannot finish must not leave a process with open ports and no answers.
    setTimeout(() => { log.fatal({ category: 'MTA Administration' }, `closedown did not finish within ${CLOSEDOWN_LIMIT_MS / 1000} s`); dieNow() }, CLOSEDOWN_LIMIT_MS).unref()
    traffic.stop()
    mta.stop().then(() => {
      admin.close()
      rmSync(pidFile, { force: true })
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
    dieNow()
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

/** Longest a closedown may take before the process ends itself anyway. */
const CLOSEDOWN_LIMIT_MS = 15_000

/**
 * Ends the process at once after a fatal error. process.exit can hang here: LMDB's exit hook
 * waits for its writer thread, which may be waiting for a transaction callback on this very
 * thread. Everything acknowledged is already committed and flushed, so nothing is lost by not
 * closing the store: the next start runs the store check (2219) and goes on. The log is
 * written synchronously, so the fatal line is out before the signal.
 */
function dieNow (): never {
  process.kill(process.pid, 'SIGKILL')
  // Not reached: SIGKILL cannot be caught.
  throw new Error('SIGKILL did not end the process')
}

main().catch((err: Error) => {
  // Configuration problems are the user's to fix: one clear line on stderr, exit code 2.
  if (err instanceof XconError || err instanceof UsageError || (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    process.stderr.write(`xcon-mta: ${err.message}\n`)
    process.exit(2)
  }
  // A port another process holds is the user's to fix too; say which, without a stack.
  const e = err as NodeJS.ErrnoException & { address?: string, port?: number }
  if (e.code === 'EADDRINUSE') {
    process.stderr.write(`xcon-mta: cannot listen on ${e.address ?? ''}:${e.port ?? ''}: the port is in use by another process\n`)
    process.exit(2)
  }
  process.stderr.write(`xcon-mta: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
