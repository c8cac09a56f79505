import { parseArgs, type ParseArgsConfig } from 'node:util'
import { join } from 'node:path'
import { openBackend } from './backends.js'
import { CliError } from './cli-error.js'
import { dockerLogs } from './commands/docker-logs.js'
import { flap } from './commands/flap.js'
import { prettyStdin, showLogs } from './commands/logs.js'
import { gatherStatus } from './commands/status.js'
import { up } from './commands/up.js'
import { heal, partition } from './docker-partition.js'
import { runScenario } from './scenario/run-scenario.js'
import { renderFindings } from './scenario/findings-table.js'
import { DockerSite } from './docker-site.js'
import { parseDuration } from './durations.js'
import { LocalSite } from './local-site.js'
import type { SiteBackend } from './site-backend.js'
import { DEFAULT_DATA_DIR } from './site-state.js'
import { renderStatusTable } from './status-table.js'

const USAGE = `xcon: run a site of emulated Exchange 5.5 MTAs and reproduce KB Q260167

Usage: xcon <command> [options]

Backends: local processes (the default; --data DIR, default ${DEFAULT_DATA_DIR}) or Docker containers
(--docker, or XCON_BACKEND=docker; --file docker-compose.yml, --project NAME). Without --docker,
a running compose project in this directory is used when there is no local site.

  up [-d] [--topology FILE] [--build B] [--time-scale N] [--control-blocks N] [--traffic T] [--fresh]
                         start every MTA (foreground: logs until Ctrl-C; -d: detached)
  down                   close every MTA down cleanly
  status [--json]        control blocks, queues and counters of every MTA
  kill SERVER…           SIGKILL, as a crash          stop SERVER…     clean closedown (9299)
  start SERVER…          start a stopped MTA          restart SERVER…  stop + start: the Q260167 workaround
  pause SERVER…          SIGSTOP (peers time out)     resume SERVER…   SIGCONT
  flap SERVER --down D --up U --count N
                         kill and restart N times (durations: 500ms, 5s, 2m)
  send --from SERVER --to ALIAS@SERVER [--to …] [--count N] [--subject S] [--priority P] [--alias A] [--json]
                         submit mail; prints the MTS-IDs
  logs [-f] [--server S] [--json]    readable logs: time, server, event ID, category, text
  logs --pretty          read JSON log lines on stdin and print them readably
  partition SERVER [--from SERVER…]   (docker) cut SERVER off: packets dropped, peers time out
  heal [SERVER]          (docker) undo partitions
  compose --topology FILE [--out DIR] [--image I] [--admin-port N] [--smtp-port N]
                         write a compose project for any topology (several sites, connectors, IMS)
  scenario run FILE [--backend local|docker] [--image IMAGE] [--out DIR] [--seed N]
                         run a fault scenario on a site of its own (local processes, or containers
                         of a compose project made for it from image xcon:latest); history, verdict, report
                         (exit 0 valid, 1 invalid, 2 unknown, as Maelstrom)
  scenario check HISTORY.ndjson --scenario FILE    check a recorded history again

Builds: 1960 (RTM), 2232 (SP1), 2448 (SP2), 2650 (SP3, leaks), 2653 (SP4, fixed); also 5.5.2650.24, sp3, sp4.`

const out = (line: string): void => { process.stdout.write(`${line}\n`) }
// `xcon logs | head` closes the pipe early: stop quietly, as other Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0); throw err })
const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined

type Values = Record<string, string | boolean | string[] | undefined>

function parse (argv: string[], options: NonNullable<ParseArgsConfig['options']> = {}): { values: Values, positionals: string[] } {
  try {
    const r = parseArgs({
      args: argv,
      options: { data: { type: 'string' }, docker: { type: 'boolean' }, file: { type: 'string' }, project: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals: true,
      strict: true
    })
    return { values: r.values as Values, positionals: r.positionals }
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${USAGE}`, 2)
  }
}

const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined
const dataDir = (v: Values): string => str(v.data) ?? process.env.XCON_DATA ?? DEFAULT_DATA_DIR
const wantsDocker = (v: Values): boolean => v.docker === true || process.env.XCON_BACKEND === 'docker'
const backend = async (v: Values): Promise<SiteBackend> => await openBackend({ docker: v.docker === true, dataDir: dataDir(v), file: str(v.file), project: str(v.project) })
const docker = async (v: Values): Promise<DockerSite> => await DockerSite.open({ file: str(v.file), project: str(v.project) })

/** The `XCON_*` variables the compose file passes to every MTA, from `xcon up` flags. */
function composeEnv (v: Values): NodeJS.ProcessEnv {
  const env = { ...process.env }
  if (str(v.build) !== undefined) env.XCON_BUILD = str(v.build)
  if (str(v['time-scale']) !== undefined) env.XCON_TIME_SCALE = str(v['time-scale'])
  if (str(v['control-blocks']) !== undefined) env.XCON_CONTROL_BLOCKS = str(v['control-blocks'])
  if (str(v.traffic) !== undefined) env.XCON_TRAFFIC = str(v.traffic)
  return env
}

function oneServer (command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new CliError(`xcon ${command} takes one server name, e.g. xcon ${command} SRV-B`, 2)
  return positionals[0]!
}

export async function run (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE)
    return command === undefined ? 2 : 0
  }
  switch (command) {
    case 'up': {
      const { values } = parse(rest, {
        detach: { type: 'boolean', short: 'd' }, topology: { type: 'string' }, build: { type: 'string' }, 'time-scale': { type: 'string' },
        'control-blocks': { type: 'string' }, traffic: { type: 'string' }, fresh: { type: 'boolean' }, rebuild: { type: 'boolean' }
      })
      if (wantsDocker(values)) {
        const site = await DockerSite.open({ file: str(values.file), project: str(values.project) }, composeEnv(values))
        await site.up(values.rebuild === true)
        out(renderStatusTable(await gatherStatus(site)))
        if (values.detach !== true) {
          out('Following the logs; Ctrl-C stops following (the containers keep running: xcon down --docker).')
          await dockerLogs(site, { follow: true, json: false, colour }, out)
        }
        return 0
      }
      await up({
        dataDir: dataDir(values), topologyFile: str(values.topology), build: str(values.build), timeScale: str(values['time-scale']),
        controlBlocks: str(values['control-blocks']), traffic: str(values.traffic), fresh: values.fresh === true,
        detach: values.detach === true, colour
      }, out)
      return 0
    }
    case 'down': {
      const { values } = parse(rest, { volumes: { type: 'boolean' } })
      if (wantsDocker(values)) {
        await (await docker(values)).down(values.volumes === true)
        return 0
      }
      const site = LocalSite.open(dataDir(values))
      // Say what happened: a site already down was not closed down again.
      const running = site.names.filter(n => site.processState(n) !== 'down')
      await Promise.all(running.map(async n => await site.stop(n)))
      out(running.length === 0 ? `nothing to close down: ${site.names.join(', ')} ${site.names.length === 1 ? 'is' : 'are'} already down` : `closed down ${running.join(', ')}`)
      return 0
    }
    case 'status': {
      const { values } = parse(rest, { json: { type: 'boolean' } })
      const mtas = await gatherStatus(await backend(values))
      out(values.json === true ? JSON.stringify({ mtas }, null, 2) : renderStatusTable(mtas))
      return 0
    }
    case 'kill': case 'stop': case 'start': case 'restart': case 'pause': case 'resume': {
      const { values, positionals } = parse(rest)
      if (positionals.length === 0) throw new CliError(`xcon ${command} takes one or more server names, e.g. xcon ${command} SRV-B`, 2)
      const site = await backend(values)
      // Resolve every name first, so that a typo fails before anything is signalled.
      const names = positionals.map(p => site.resolve(p))
      await Promise.all(names.map(async name => {
        if (command === 'kill') await site.kill(name)
        if (command === 'stop') await site.stop(name)
        if (command === 'start') await site.start(name)
        if (command === 'restart') await site.restart(name)
        if (command === 'pause') await site.pause(name)
        if (command === 'resume') await site.resume(name)
      }))
      for (const name of names) out(`${name}: ${await site.processState(name)}`)
      return 0
    }
    case 'flap': {
      const { values, positionals } = parse(rest, { down: { type: 'string' }, up: { type: 'string' }, count: { type: 'string' } })
      const count = Number(str(values.count) ?? 1)
      if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new CliError('--count: expected a whole number from 1 to 10000', 2)
      const site = await backend(values)
      await flap(site, oneServer('flap', positionals), parseDuration(str(values.down) ?? '5s', '--down'), parseDuration(str(values.up) ?? '5s', '--up'), count, out)
      return 0
    }
    case 'send': {
      const { values } = parse(rest, {
        from: { type: 'string' }, to: { type: 'string', multiple: true }, count: { type: 'string' }, subject: { type: 'string' },
        priority: { type: 'string' }, alias: { type: 'string' }, body: { type: 'string' }, size: { type: 'string' }, json: { type: 'boolean' }
      })
      const from = str(values.from)
      const to = values.to as string[] | undefined
      if (from === undefined || to === undefined) throw new CliError('xcon send needs --from SERVER and --to ALIAS@SERVER', 2)
      const size = str(values.size) === undefined ? undefined : Number(str(values.size))
      if (size !== undefined && (!Number.isInteger(size) || size < 0)) throw new CliError('--size: expected a whole number of bytes (the body is that many "x")', 2)
      const site = await backend(values)
      // The MTA checks the size against its maximum message size and answers 413 over it.
      const mtsIds = await site.submit(site.resolve(from), {
        from: str(values.alias) ?? 'administrator', to, count: Number(str(values.count) ?? 1),
        subject: str(values.subject) ?? 'sent with xcon', priority: str(values.priority) ?? 'normal', body: size === undefined ? str(values.body) ?? '' : 'x'.repeat(size)
      })
      if (values.json === true) out(JSON.stringify({ mtsIds }))
      else mtsIds.forEach(id => out(id))
      return 0
    }
    case 'logs': {
      const { values } = parse(rest, { follow: { type: 'boolean', short: 'f' }, server: { type: 'string' }, json: { type: 'boolean' }, pretty: { type: 'boolean' } })
      if (values.pretty === true) {
        await prettyStdin(colour, out)
        return 0
      }
      const site = await backend(values)
      const opts = { follow: values.follow === true, server: str(values.server), json: values.json === true, colour }
      if (site instanceof DockerSite) await dockerLogs(site, opts, out)
      else await showLogs(site as LocalSite, opts, out)
      return 0
    }
    case 'partition': {
      const { values, positionals } = parse(rest, { from: { type: 'string', multiple: true } })
      const site = await backend(values)
      if (!(site instanceof DockerSite)) throw new CliError('partition works on the docker backend (add --docker); local link faults come with the scenario runner', 2)
      out(await partition(site, oneServer('partition', positionals), values.from as string[] | undefined))
      return 0
    }
    case 'heal': {
      const { values, positionals } = parse(rest)
      const site = await backend(values)
      if (!(site instanceof DockerSite)) throw new CliError('heal works on the docker backend (add --docker)', 2)
      const healed = await heal(site, positionals[0])
      out(healed.length === 0 ? 'nothing to heal' : `healed ${healed.join(', ')}`)
      return 0
    }
    case 'compose': {
      const { values } = parse(rest, { topology: { type: 'string' }, out: { type: 'string' }, image: { type: 'string' }, 'admin-port': { type: 'string' }, 'smtp-port': { type: 'string' } })
      const topologyFile = str(values.topology)
      if (topologyFile === undefined) throw new CliError('xcon compose --topology FILE [--out DIR] [--image IMAGE] [--admin-port N] [--smtp-port N]', 2)
      const { writeComposeProject } = await import('./commands/compose.js')
      const r = writeComposeProject({
        topologyFile,
        outDir: str(values.out) ?? '.',
        image: str(values.image) ?? 'xcon:latest',
        adminPort: Number(str(values['admin-port']) ?? 7201), // 7101-7104 are the default compose site's
        smtpPort: Number(str(values['smtp-port']) ?? 2601)
      })
      for (const line of r.lines) out(line)
      return 0
    }
    case 'scenario': {
      const [sub, ...args] = rest
      const { values, positionals } = parse(args, { out: { type: 'string' }, seed: { type: 'string' }, seeds: { type: 'string' }, backend: { type: 'string' }, image: { type: 'string' }, scenario: { type: 'string' } })
      if (sub === 'run') {
        if (positionals.length !== 1) throw new CliError('xcon scenario run takes one scenario file, e.g. xcon scenario run scenarios/q260167.yaml', 2)
        const backendName = str(values.backend) ?? (wantsDocker(values) ? 'docker' : 'local')
        if (backendName !== 'local' && backendName !== 'docker') throw new CliError(`--backend ${backendName}: expected local or docker`, 2)
        const seed = str(values.seed) === undefined ? undefined : Number(str(values.seed))
        if (seed !== undefined && !Number.isInteger(seed)) throw new CliError('--seed: expected a whole number', 2)
        const run = await runScenario({ file: positionals[0]!, outDir: str(values.out), seed, backend: backendName, image: str(values.image) ?? process.env.XCON_IMAGE, progress: process.stderr.isTTY === true, out })
        out(renderFindings(run.result))
        out(`verdict: ${run.result.verdict} (seed ${run.scenario.seed}, ${(run.wallMs / 1000).toFixed(0)} s); report: ${run.outDir}/report.html`)
        return run.result.exitCode
      }
      if (sub === 'check') {
        const file = positionals[0]
        const scenarioFile = str(values.scenario)
        if (file === undefined || scenarioFile === undefined) throw new CliError('xcon scenario check HISTORY.ndjson --scenario FILE', 2)
        const { checkRecorded } = await import('./scenario/check-recorded.js')
        const result = checkRecorded(file, scenarioFile)
        out(renderFindings(result))
        out(`verdict: ${result.verdict}`)
        return result.exitCode
      }
      if (sub === 'soak') {
        if (positionals.length !== 1) throw new CliError('xcon scenario soak takes one scenario file, e.g. xcon scenario soak scenarios/soak.yaml --seeds 3', 2)
        const raw = str(values.seeds) ?? '3'
        // --seeds 3 runs seeds 1, 2, 3; --seeds 7,11 runs those.
        const seeds = raw.includes(',') ? raw.split(',').map(Number) : Array.from({ length: Number(raw) }, (_, i) => i + 1)
        if (seeds.length === 0 || !seeds.every(n => Number.isInteger(n))) throw new CliError('--seeds: expected a count (3) or a list of seeds (7,11)', 2)
        const { soak } = await import('./scenario/soak.js')
        const outDir = str(values.out) ?? join('.xcon', 'soak', new Date().toISOString().replace(/[:.]/g, '-'))
        return (await soak({ file: positionals[0]!, seeds, outDir, out })).exitCode
      }
      throw new CliError('xcon scenario run FILE | xcon scenario soak FILE --seeds N | xcon scenario check HISTORY --scenario FILE', 2)
    }
    default:
      throw new CliError(`unknown command "${command}"\n\n${USAGE}`, 2)
  }
}

run(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: Error) => {
  if (err instanceof CliError) {
    process.stderr.write(`xcon: ${err.message}\n`)
    process.exitCode = err.exitCode
  } else {
    process.stderr.write(`xcon: ${err.stack ?? err.message}\n`)
    process.exitCode = 1
  }
})
