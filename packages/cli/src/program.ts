import { Command, Option } from 'commander'
import { MAX_CONTROL_BLOCKS, MIN_CONTROL_BLOCKS, formatDuration } from '@xcon/core'
import { join } from 'node:path'
import { openBackend } from './commands/open-backend.js'
import { CliError } from './cli-error.js'
import { XCON, shellWord } from './invocation.js'
import { XCON_VERSION } from './version.js'
import { FORECAST_COLUMNS } from './simulate/forecast-columns.js'
import { flap } from './commands/flap.js'
import { applyVerb, type LifecycleVerb } from './commands/lifecycle.js'
import { prettyStdin } from './commands/logs.js'
import { gatherStatus } from './commands/status.js'
import { up } from './commands/up.js'
import { DockerSite } from './site/docker/docker-site.js'
import { parseDuration } from './durations.js'
import { NO_LINKS_ON_DOCKER } from './site/local/local-links.js'
import { StackSite } from './site/docker/stack-site.js'
import { NODE_FAULTS_ON_STACKS, type SiteBackend } from './site/site-backend.js'
import { DEFAULT_DATA_DIR } from './site/local/site-state.js'
import { renderStatusTable } from './commands/status-table.js'
import { siteActionLog } from './site/site-action-log.js'

/** The options every command takes: which site, and on which backend. */
interface SiteOptions { data?: string, docker?: boolean, file?: string, project?: string, stack?: string }

const BUILDS = 'Builds: 1960 (RTM), 2232 (SP1), 2448 (SP2), 2650 (SP3, leaks), 2653 (SP4, fixed); also 5.5.2650.24, sp3, sp4.'
const BACKENDS = `Backends: local processes under --data DIR (default ${DEFAULT_DATA_DIR}, or XCON_DATA), or the containers of
a compose project (--docker or XCON_BACKEND=docker; --file, --project), or a Swarm stack deployed from
the compose file (--stack NAME). Without any, xcon uses the site that is running, and its first line
says which.`

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value]
const dataDir = (o: SiteOptions): string => o.data ?? process.env.XCON_DATA ?? DEFAULT_DATA_DIR
const backend = async (o: SiteOptions, say?: (line: string, ambiguous: boolean) => void): Promise<SiteBackend> =>
  await openBackend({ docker: o.docker === true, dataDir: dataDir(o), explicitData: o.data !== undefined || process.env.XCON_DATA !== undefined, file: o.file, project: o.project, stack: o.stack }, say)
const docker = async (o: SiteOptions, env?: NodeJS.ProcessEnv): Promise<DockerSite> => await DockerSite.open({ file: o.file, project: o.project }, env)
const wantsDocker = (o: SiteOptions): boolean => o.docker === true || process.env.XCON_BACKEND === 'docker'

function wholeNumber (flag: string, min: number, max: number): (v: string) => number {
  return (v: string): number => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`${flag}: expected a whole number from ${min} to ${max}, not "${v}"`, 2)
    return n
  }
}

/** The `XCON_*` variables the compose file passes to every MTA, from `xcon up` flags. */
function composeEnv (o: { build?: string, timeScale?: string, controlBlocks?: string, traffic?: string }): NodeJS.ProcessEnv {
  const env = { ...process.env }
  if (o.build !== undefined) env.XCON_BUILD = o.build
  if (o.timeScale !== undefined) env.XCON_TIME_SCALE = o.timeScale
  if (o.controlBlocks !== undefined) env.XCON_CONTROL_BLOCKS = o.controlBlocks
  if (o.traffic !== undefined) env.XCON_TRAFFIC = o.traffic
  return env
}

/**
 * Every command, its options and its help, in one place: `xcon --help` and `xcon COMMAND --help`
 * come from these definitions, and a mistyped command or flag gets commander's "did you mean".
 */
export function buildProgram (out: (line: string) => void, exit: (code: number) => void): Command {
  const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined
  const program = new Command('xcon')
    .description('run a site of emulated Exchange 5.5 MTAs and reproduce KB Q260167')
    .option('--data <dir>', `the local site's data directory (default ${DEFAULT_DATA_DIR}, or XCON_DATA)`)
    .version(XCON_VERSION, '-V, --version', 'the version of xcon, and the Exchange builds it emulates')
    .option('--docker', 'use the containers of a compose project (or XCON_BACKEND=docker)')
    .option('--file <file>', 'the compose file (default docker-compose.yml)')
    .option('--project <name>', 'the compose project name (docker compose -p)')
    .option('--stack <name>', 'use the Swarm stack deployed from the compose file (docker stack deploy)')
    .addHelpText('after', `\n${BACKENDS}\n\n${BUILDS}`)
    .showSuggestionAfterError(true)
    .showHelpAfterError(`(${XCON} --help lists the commands; ${XCON} COMMAND --help shows one)`)
    .exitOverride()
    .configureOutput({
      // One line in the CLI's own voice, as every other error: "xcon: unknown option '--bulid' …".
      outputError: (str, write) => write(`xcon: ${str.replace(/^error: /, '')}`)
    })
  const site = (cmd: Command): SiteOptions => cmd.optsWithGlobals<SiteOptions>()
  // Commands other than status say which site they chose only when another could have been meant.
  const note = (line: string, ambiguous: boolean): void => { if (ambiguous) process.stderr.write(`xcon: ${line}\n`) }

  program.command('up')
    .description('start every MTA (foreground: logs until Ctrl-C; -d: detached)')
    .option('-d, --detach', 'return once every MTA is ready')
    .option('--topology <file>', 'the site\'s topology (default: the embedded four-MTA site)')
    .option('--build <build>', 'the Exchange build of every MTA (2650 leaks, 2653 is fixed)')
    .option('--time-scale <n>', 'MTA seconds per real second')
    .option('--control-blocks <n>', 'the size of each MTA\'s control block pool')
    .option('--traffic <spec>', 'background mail, e.g. 2/s')
    .option('--fresh', 'delete the local site\'s queues and logs first')
    .option('--rebuild', '(docker) rebuild the image first')
    .option('--links', 'a proxy on every directed link, driven by a Toxiproxy-compatible API (local site; docs/links.md)')
    .action(async (o: { detach?: boolean, topology?: string, build?: string, timeScale?: string, controlBlocks?: string, traffic?: string, fresh?: boolean, rebuild?: boolean, links?: boolean }, cmd: Command) => {
      const s = site(cmd)
      if (o.links === true && (s.stack !== undefined || wantsDocker(s))) throw new CliError(NO_LINKS_ON_DOCKER, 2)
      if (s.stack !== undefined) {
        const st = await StackSite.open({ file: s.file, stack: s.stack })
        await st.up()
        out(renderStatusTable(await gatherStatus(st)))
        if (o.detach !== true) await st.logs({ follow: true, json: false, colour }, out)
        return
      }
      if (wantsDocker(s)) {
        const d = await docker(s, composeEnv(o))
        await d.up(o.rebuild === true)
        out(renderStatusTable(await gatherStatus(d)))
        if (o.detach !== true) {
          out(`Following the logs; Ctrl-C stops following (the containers keep running: ${XCON} down --docker).`)
          await d.logs({ follow: true, json: false, colour }, out)
        }
        return
      }
      await up({
        dataDir: dataDir(s), topologyFile: o.topology, build: o.build, timeScale: o.timeScale, controlBlocks: o.controlBlocks,
        traffic: o.traffic, fresh: o.fresh === true, detach: o.detach === true, colour, explicitData: s.data, links: o.links === true
      }, out)
    })

  program.command('down')
    .description('close every MTA down cleanly')
    .option('--volumes', '(docker, stack) also remove the containers\' volumes: their queues (a stack: on every node that answers)')
    .action(async (o: { volumes?: boolean }, cmd: Command) => {
      const b = await backend(site(cmd), note)
      for (const line of await b.down({ volumes: o.volumes === true })) out(line)
    })

  program.command('status')
    .description('control blocks, queues and counters of every MTA')
    .option('--json', 'one JSON document: { backend, mtas: [...] }')
    .addHelpText('after', `
CB FREE is free/capacity of the intra-site pool (network type 5). A healthy MTA shows one less
than its capacity (7/8): the listener holds one block for as long as it runs (Q243632).

--json: {"backend": {"kind": "local", "dataDir"} | {"kind": "docker", "project", "file"} | {"kind": "stack", "stack", "file"},
 "mtas": [{"name", "site", "build", "state", "controlBlocks": {"capacity", "free", "inUse", "leaked", "exhausted", ...},
 "queues": [{"peer", "depth", ...}], "delivered", "duplicatesSuppressed", "ndrs", "metricsUrl", ...}],
 "links": {"api", "port", "proxies", "state"} (a local site started with --links)}
An MTA that cannot answer has state down, paused or unresponsive, and null for build, controlBlocks
and the counters; its queues are safe in its store and come back with it.`)
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const b = await backend(site(cmd), o.json === true ? undefined : line => out(line))
      const mtas = await gatherStatus(b)
      const links = b.links()
      if (o.json === true) {
        out(JSON.stringify({ backend: b.describe(), mtas, ...(links === undefined ? {} : { links }) }, null, 2))
        return
      }
      out(`${renderStatusTable(mtas)}${links === undefined ? '' : `\nLinks: ${links.proxies} proxies (${links.state}), Toxiproxy API at ${links.api}`}`)
      if (mtas.every(m => m.state === 'down')) out(`Every MTA is down: start the site with ${XCON}${flagsOf(site(cmd))} up -d (or up, to follow its logs).`)
    })

  const verbs: Array<[LifecycleVerb, string]> = [
    ['kill', 'SIGKILL, as a crash: peers see connection failures'],
    ['stop', 'clean closedown (9299)'],
    ['start', 'start a stopped MTA'],
    ['restart', 'stop and start: the Q260167 workaround'],
    ['pause', 'SIGSTOP: the process hangs, peers time out'],
    ['resume', 'SIGCONT']
  ]
  for (const [verb, description] of verbs) {
    program.command(verb).argument('<servers...>', 'server names, e.g. SRV-B').description(description)
      .action(async (servers: string[], _o: unknown, cmd: Command) => {
        const b = await backend(site(cmd), note)
        // Resolve every name first, so that a typo fails before anything is signalled.
        const names = servers.map(p => b.resolve(p))
        const log = siteActionLog(b)
        await Promise.all(names.map(async name => { await applyVerb(b, verb, name, log) }))
        for (const name of names) out(`${name}: ${await b.processState(name)}`)
      })
  }

  const nodeVerbs: Array<['fail' | 'restore', string]> = [
    ['fail', 'a swarm node loses power: every MTA on it fails at once (a stack, on a node made by scripts/two-node-swarm.sh)'],
    ['restore', 'the node boots again and rejoins the swarm; the MTAs placed on it start with their stores']
  ]
  for (const [kind, description] of nodeVerbs) {
    program.command(`${kind}-node`).argument('<node>', 'the node\'s hostname or ID (docker node ls)').description(description)
      .action(async (node: string, _o: unknown, cmd: Command) => {
        // Only a stack has nodes: said before looking for a site that would be the wrong kind anyway.
        if (site(cmd).stack === undefined) throw new CliError(`${NODE_FAULTS_ON_STACKS}: ${XCON} --stack NAME ${kind}-node ${node}`, 2)
        const b = await backend(site(cmd), note)
        for (const line of await b.nodeFault(kind, node, siteActionLog(b))) out(line)
      })
  }

  program.command('flap').argument('<server>', 'the server to kill and restart')
    .description('kill and restart a server N times (durations: 500ms, 5s, 2m, 6h, 30d)')
    .option('--down <duration>', 'how long it stays down', '5s')
    .option('--up <duration>', 'how long it stays up', '5s')
    .option('--count <n>', 'how many times, 1 to 10000', wholeNumber('--count', 1, 10_000), 1)
    .action(async (server: string, o: { down: string, up: string, count: number }, cmd: Command) => {
      const downMs = parseDuration(o.down, '--down')
      const upMs = parseDuration(o.up, '--up')
      const b = await backend(site(cmd), note)
      await flap(b, b.resolve(server), downMs, upMs, o.count, out, siteActionLog(b))
    })

  program.command('send')
    .description('submit mail; prints the MTS-IDs')
    .requiredOption('--from <server>', 'the server to submit on')
    .requiredOption('--to <address>', 'ALIAS@SERVER; repeat for more recipients', collect)
    .option('--count <n>', 'how many messages', wholeNumber('--count', 1, 100_000), 1)
    .option('--subject <text>', 'the subject', 'sent with xcon')
    .addOption(new Option('--priority <p>', 'the X.400 priority').choices(['urgent', 'normal', 'non-urgent']).default('normal'))
    .option('--alias <alias>', 'the sender\'s alias', 'administrator')
    .option('--body <text>', 'the body', '')
    .option('--size <bytes>', 'a body of this many "x" instead', wholeNumber('--size', 0, 1 << 30))
    .option('--json', 'print { "mtsIds": [...] }')
    .addHelpText('after', `
A server's mailboxes are its topology's mailboxes (default user1 ... user10), plus administrator,
postmaster and system-attendant. An alias no mailbox has, or an Internet address where no server
runs an Internet Mail Service, gets a non-delivery report, and send says so on stderr.`)
    .action(async (o: { from: string, to: string[], count: number, subject: string, priority: string, alias: string, body: string, size?: number, json?: boolean }, cmd: Command) => {
      const b = await backend(site(cmd), note)
      // The MTA checks the size against its maximum message size and answers 413 over it.
      const from = b.resolve(o.from)
      const { mtsIds, nonDelivered } = await b.submitMail(from, {
        from: o.alias, to: o.to, count: o.count, subject: o.subject, priority: o.priority, body: o.size === undefined ? o.body : 'x'.repeat(o.size)
      })
      if (o.json === true) out(JSON.stringify(nonDelivered.length === 0 ? { mtsIds } : { mtsIds, nonDelivered }))
      else mtsIds.forEach(id => out(id))
      // As Exchange did: the directory does not know them, so each gets a non-delivery report.
      for (const n of nonDelivered) process.stderr.write(`xcon: ${n.recipient}: ${n.reason}; a non-delivery report goes to ${o.alias}@${from}\n`)
    })

  program.command('dashboard')
    .description('a live page of the site on 127.0.0.1: the MTAs and their associations, control blocks, queues, the event tail, and buttons to kill, stop, start, restart, pause and resume')
    .option('--port <n>', 'the port (default: a free one)', wholeNumber('--port', 0, 65_535), 0)
    .action(async (o: { port: number }, cmd: Command) => {
      const b = await backend(site(cmd), note)
      const [{ DashboardServer }, { gamedayBanner }] = await Promise.all([import('./dashboard/dashboard-server.js'), import('./commands/gameday.js')])
      // A game day's banner: its files are under --data; on containers, its site is the compose project shown.
      const described = b.describe()
      const data = described.kind === 'local' ? String(described.dataDir) : dataDir(site(cmd))
      const project = described.kind === 'docker' ? String(described.project) : undefined
      const dashboard = new DashboardServer(b, b.topology(), () => gamedayBanner(data, project))
      const port = await dashboard.listen(o.port)
      out(`dashboard of ${b.label}: http://127.0.0.1:${port}/ (Ctrl-C to stop)`)
      await new Promise<void>(resolve => {
        const stop = (): void => { dashboard.close(); resolve() }
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
    })

  program.command('logs')
    .description('readable logs: time, server, event ID, category, text; in time order, repeats folded')
    .option('-f, --follow', 'keep following')
    .option('--server <names>', 'only these servers (comma-separated)')
    .option('--event <ids>', 'only these event IDs or tags (comma-separated, e.g. 9156,9318,leak)')
    .option('--json', 'the JSON lines themselves, every one')
    .option('--pretty', 'read JSON log lines on stdin and print them readably')
    .action(async (o: { follow?: boolean, server?: string, event?: string, json?: boolean, pretty?: boolean }, cmd: Command) => {
      const filter = { servers: splitList(o.server), events: splitList(o.event) }
      if (o.pretty === true) {
        await prettyStdin(colour, out, filter)
        return
      }
      const b = await backend(site(cmd), note)
      const servers = filter.servers?.map(n => b.resolve(n))
      const opts = { follow: o.follow === true, servers, events: filter.events, json: o.json === true, colour }
      await b.logs(opts, out)
    })

  program.command('partition').argument('<server>', 'the server to cut off')
    .description('cut a server off: packets dropped, peers time out (a compose project, or a local site started with --links)')
    .option('--from <server>', 'only from these peers; repeat for more', collect)
    .action(async (server: string, o: { from?: string[] }, cmd: Command) => {
      const b = await backend(site(cmd), note)
      out(await b.partition(server, o.from))
    })

  program.command('heal').argument('[server]', 'only this server')
    .description('undo partitions (on local links: every one, whichever server is named)')
    .action(async (server: string | undefined, _o: unknown, cmd: Command) => {
      const b = await backend(site(cmd), note)
      out(await b.heal(server))
    })

  program.command('compose')
    .description('write a compose project for any topology (several sites, connectors, IMS)')
    .requiredOption('--topology <file>', 'the topology')
    .option('--out <dir>', 'where to write docker-compose.yml and the topology', '.')
    .option('--image <image>', 'the MTA image', 'xcon:latest')
    // 7101-7104 are the default compose site's, so a second project does not collide with it.
    .option('--admin-port <n>', 'the first published admin port', wholeNumber('--admin-port', 1, 65_535), 7201)
    .option('--smtp-port <n>', 'the first published SMTP port', wholeNumber('--smtp-port', 1, 65_535), 2601)
    .action(async (o: { topology: string, out: string, image: string, adminPort: number, smtpPort: number }) => {
      const { writeComposeProject } = await import('./commands/compose.js')
      const r = writeComposeProject({ topologyFile: o.topology, outDir: o.out, image: o.image, adminPort: o.adminPort, smtpPort: o.smtpPort })
      for (const line of r.lines) out(line)
    })

  const scenario = program.command('scenario').description('fault scenarios with a checked history and a report (exit 0 valid, 1 invalid, 2 unknown, as Maelstrom)')
  scenario.command('run').argument('<file>', 'the scenario, e.g. scenarios/q260167.yaml')
    .description('run a scenario on a site of its own (local processes, a compose project, or a Swarm stack made for it)')
    .addOption(new Option('--backend <backend>', 'where its MTAs run (stack: on the swarm this engine manages, placed by the scenario\'s nodes:)').choices(['local', 'docker', 'stack']))
    .option('--image <image>', '(docker, stack) the MTA image (default xcon:latest, or XCON_IMAGE)')
    .option('--out <dir>', 'where the history and report go')
    .option('--seed <n>', 'the seed of traffic and faults', wholeNumber('--seed', 0, Number.MAX_SAFE_INTEGER))
    .option('--compare-sim', 'then run it in simulation with the same seed and compare the findings (exit 1 if they differ)')
    .action(async (file: string, o: { backend?: 'local' | 'docker' | 'stack', image?: string, out?: string, seed?: number, compareSim?: boolean }, cmd: Command) => {
      // The scenario runner and the report load only for scenarios: every other command starts quicker.
      const [{ runScenario }, { renderFindings }] = await Promise.all([import('./scenario/run-scenario.js'), import('./scenario/findings-table.js')])
      const run = await runScenario({
        file, outDir: o.out, seed: o.seed, backend: o.backend ?? (wantsDocker(site(cmd)) ? 'docker' : 'local'),
        image: o.image ?? process.env.XCON_IMAGE, progress: process.stderr.isTTY === true, out
      })
      out(renderFindings(run.result))
      out(`verdict: ${run.result.verdict} (seed ${run.scenario.seed}, ${(run.wallMs / 1000).toFixed(0)} s); report: ${run.outDir}/report.html`)
      if (o.compareSim === true) {
        const { compareWithSimulation } = await import('./simulate/compare-sim.js')
        const c = await compareWithSimulation(run, file)
        out(c.table)
        out(`comparison: ${c.comparison.agree ? 'processes and simulation agree' : 'processes and simulation DIFFER'}; simulated run in ${c.simDir}`)
        if (!c.comparison.agree) { exit(Math.max(1, run.result.exitCode)); return }
      }
      exit(run.result.exitCode)
    })
  program.command('simulate').argument('<file>', 'a scenario file, the same as for scenario run')
    .description('run a scenario in simulated time: every MTA in this process on a virtual clock, same history, checker and report')
    .option('--out <dir>', 'where the history and report go')
    .option('--seed <n>', 'the seed of traffic and faults', wholeNumber('--seed', 0, Number.MAX_SAFE_INTEGER))
    .action(async (file: string, o: { out?: string, seed?: number }) => {
      const [{ runSimulation }, { renderFindings }] = await Promise.all([import('./simulate/run-simulation.js'), import('./scenario/findings-table.js')])
      const run = await runSimulation({ file, outDir: o.out, seed: o.seed })
      out(`scenario ${run.scenario.name}: seed ${run.scenario.seed}, ${run.faultSteps} fault steps, ${formatDuration(run.simulatedMs)} simulated in ${(run.wallMs / 1000).toFixed(1)} s; output in ${run.outDir ?? ''}`)
      out(renderFindings(run.result))
      out(`history sha256 ${run.sha256}`)
      out(`verdict: ${run.result.verdict} (seed ${run.scenario.seed}, simulated); report: ${run.outDir ?? ''}/report.html`)
      exit(run.result.exitCode)
    })
  program.command('forecast')
    .description("at this rate of failed connections, how long until a pre-SP4 MTA stops (9156)? one simulation per rate at Exchange's real timings")
    .requiredOption('--failures-per-hour <list>', 'failed connections an hour, one simulation each, e.g. 1,6,60')
    .option('--topology <file>', 'a topology; by default a site of the MTA and one healthy peer')
    .option('--server <name>', 'the MTA to forecast (default: the first on a build before SP4)')
    .option('--build <build>', 'its build: 2650 (SP3, leaks) or 2653 (SP4)', wholeNumber('--build', 0, 99_999))
    .option('--control-blocks <n>', 'its control blocks (Exchange default 20)', wholeNumber('--control-blocks', MIN_CONTROL_BLOCKS, MAX_CONTROL_BLOCKS))
    .option('--days <n>', 'how long to simulate at most', wholeNumber('--days', 1, 365), 30)
    .option('--seed <n>', 'the seed of the leak draws and the traffic', wholeNumber('--seed', 0, Number.MAX_SAFE_INTEGER), 260167)
    .option('--chart <file>', 'write a chart of free control blocks until the stop (.svg or .html)')
    .option('--write-scenarios <dir>', 'keep the scenario of each rate, to run again with simulate or scenario run')
    .addHelpText('after', `\nThe columns:\n${FORECAST_COLUMNS.map(l => `  ${l}`).join('\n')}`)
    .action(async (o: { failuresPerHour: string, topology?: string, server?: string, build?: number, controlBlocks?: number, days: number, seed: number, chart?: string, writeScenarios?: string }) => {
      const rates = o.failuresPerHour.split(',').map(v => v.trim()).filter(v => v !== '').map(Number)
      if (rates.length === 0 || rates.some(r => !Number.isFinite(r) || r <= 0 || r > 600)) throw new CliError(`--failures-per-hour: expected rates above 0 and at most 600, separated by commas (1,6,60), not "${o.failuresPerHour}"`, 2)
      const { forecast } = await import('./simulate/forecast.js')
      await forecast({ ...o, rates, out })
      if (o.chart !== undefined) out(`chart: ${o.chart}`)
    })
  scenario.command('check').argument('<history>', 'a history.ndjson')
    .description('check a recorded history again')
    .requiredOption('--scenario <file>', 'the scenario it was recorded from')
    .action(async (history: string, o: { scenario: string }) => {
      const [{ checkRecorded }, { renderFindings }] = await Promise.all([import('./scenario/check-recorded.js'), import('./scenario/findings-table.js')])
      const result = checkRecorded(history, o.scenario)
      out(renderFindings(result))
      out(`verdict: ${result.verdict}`)
      exit(result.exitCode)
    })
  scenario.command('soak').argument('<file>', 'the scenario, e.g. scenarios/soak.yaml')
    .description('run a scenario once per seed and sum the verdicts')
    .option('--seeds <seeds>', 'a count (3 runs seeds 1-3) or a list (7,11)', '3')
    .option('--out <dir>', 'where the runs go')
    .action(async (file: string, o: { seeds: string, out?: string }) => {
      const seeds = o.seeds.includes(',') ? o.seeds.split(',').map(Number) : Array.from({ length: Number(o.seeds) }, (_, i) => i + 1)
      if (seeds.length === 0 || !seeds.every(n => Number.isInteger(n))) throw new CliError('--seeds: expected a count (3) or a list of seeds (7,11)', 2)
      const { soak } = await import('./scenario/soak.js')
      const outDir = o.out ?? join('.xcon', 'soak', new Date().toISOString().replace(/[:.]/g, '-'))
      exit((await soak({ file, seeds, outDir, out })).exitCode)
    })
  gameday(program, site, out)
  return program
}

/**
 * `xcon gameday`: a hidden incident on a live site, for a trainee to diagnose and mend with the
 * ordinary commands, and a scored debrief (docs/gameday.md). Its files live under --data; with
 * --docker, its site is a compose project of its own (the commands after start find it there).
 */
function gameday (program: Command, site: (cmd: Command) => SiteOptions, out: (line: string) => void): void {
  const g = program.command('gameday').description('a game day: a hidden incident on a live site, the ordinary commands to mend it, and a scored debrief (docs/gameday.md)')
  const local = (cmd: Command): string => {
    const s = site(cmd)
    if (s.stack !== undefined) throw new CliError('xcon gameday runs on local processes or on a compose project (--docker), not on a Swarm stack', 2)
    return dataDir(s)
  }
  const load = async (): Promise<typeof import('./commands/gameday.js')> => await import('./commands/gameday.js')
  g.command('start')
    .description('start a site with light traffic and an incident drawn by the seed; prints only the symptom, the time limit and the tools')
    .option('--seed <n>', 'the seed that draws the incident (default: a random one, printed)', wholeNumber('--seed', 0, Number.MAX_SAFE_INTEGER))
    .option('--incident <name>', 'this incident of the catalogue (for instructors: xcon gameday list)')
    .addOption(new Option('--level <level>', 'draw among incidents of this level').choices(['easy', 'normal', 'hard']))
    .option('--topology <file>', 'the site (default: the embedded four-MTA site)')
    .option('--minutes <m>', 'the time limit, in real minutes', wholeNumber('--minutes', 1, 240), 15)
    .option('--json', 'one JSON document: the briefing')
    .action(async (o: { seed?: number, incident?: string, level?: 'easy' | 'normal' | 'hard', topology?: string, minutes: number, json?: boolean }, cmd: Command) => {
      await (await load()).gamedayStart({ dataDir: local(cmd), docker: wantsDocker(site(cmd)), ...o }, out)
    })
  g.command('list').description('the incidents of the catalogue and their levels (not which one a seed draws)').option('--json', 'one JSON document')
    .action(async (o: { json?: boolean }) => { (await load()).gamedayList(o.json === true, out) })
  g.command('status').description('the time left and what has been done; never the cause').option('--json', 'one JSON document')
    .action(async (o: { json?: boolean }, cmd: Command) => { await (await load()).gamedayStatus(local(cmd), o.json === true, out) })
  g.command('diagnose').description('record a diagnosis, with its time (more than one is allowed; each counts)')
    .requiredOption('--server <server>', 'the server it is about')
    .requiredOption('--cause <cause>', 'leak, peer-down, paused, partition, disk-full, slow-link or none')
    .option('--json', 'one JSON document')
    .action(async (o: { server: string, cause: string, json?: boolean }, cmd: Command) => { await (await load()).gamedayDiagnose(local(cmd), o.server, o.cause, o.json === true, out) })
  g.command('ask').argument('<team>', 'network or storage').argument('[text...]', 'what you ask them')
    .description('ask the team that owns a fix outside the MTAs; recorded as an action')
    .option('--json', 'one JSON document')
    .action(async (team: string, text: string[], o: { json?: boolean }, cmd: Command) => { await (await load()).gamedayAsk(local(cmd), team, text.join(' '), o.json === true, out) })
  g.command('reveal').description('for the instructor: the cause and the expert response').option('--json', 'one JSON document: { incident, faults, ... }')
    .action(async (o: { json?: boolean }, cmd: Command) => { (await load()).gamedayReveal(local(cmd), o.json === true, out) })
  g.command('end').description('end the exercise (or find it ended by its time limit) and print the debrief').option('--json', 'one JSON document: { score, recovered, recoverySeconds, lost, duplicated, findings, ... }')
    .action(async (o: { json?: boolean }, cmd: Command) => { await (await load()).gamedayEnd(local(cmd), o.json === true, out) })
}

/** The site options as typed, for a hint that must find the same site. */
function flagsOf (o: SiteOptions): string {
  const words = [
    ...(o.data === undefined ? [] : ['--data', o.data]), ...(o.docker === true ? ['--docker'] : []), ...(o.file === undefined ? [] : ['--file', o.file]),
    ...(o.project === undefined ? [] : ['--project', o.project]), ...(o.stack === undefined ? [] : ['--stack', o.stack])
  ]
  return words.map(w => ` ${shellWord(w)}`).join('')
}

function splitList (v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined
  const items = v.split(',').map(s => s.trim()).filter(s => s !== '')
  return items.length === 0 ? undefined : items
}
