import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CATALOGUE, CAUSES, LATENCY_TOXIC, XconError, drawIncident, formatAt, type Cause, type Level } from '@xcon/core'
import { CliError } from '../cli-error.js'
import { XCON, shellWord } from '../invocation.js'
import { faultText } from '../gameday/debrief-html.js'
import { actionsOf } from '../gameday/gameday-play.js'
import { freeDisksOf, gamedayIncident, gamedaySite } from '../gameday/gameday-site.js'
import { gamedayPaths, readGameday, readReady, when, writeGameday, type GamedayReady } from '../gameday/gameday-state.js'
import { appendActionLine } from '../site/site-action-log.js'
import { LocalSite, loadTopology } from '../site/local/local-site.js'
import { processState } from '../site/local/processes.js'
import { sitePaths } from '../site/local/site-state.js'
import { waitUntil } from '../wait-until.js'

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), '..', 'gameday', 'gameday-main.js')
const isRunner = (arg: string): boolean => arg.endsWith('gameday-main.js')
const TOOLS = `${XCON} status, logs, dashboard, the MTAs' /metrics; ${XCON} start, stop, restart, resume, heal; ` +
  `${XCON} gameday ask network|storage "..." for what lies outside the MTAs; ${XCON} gameday diagnose --server S --cause C; ${XCON} gameday status; ${XCON} gameday end`

export interface StartOptions { dataDir: string, docker: boolean, seed?: number | undefined, incident?: string | undefined, level?: Level | undefined, topology?: string | undefined, minutes: number, json?: boolean | undefined }

/** What the on-call person is told, and nothing more: the symptom, the site, the time limit, the tools. */
export async function gamedayStart (o: StartOptions, out: (line: string) => void): Promise<void> {
  const dataDir = resolve(o.dataDir)
  // A game day's site is made afresh; the data of a site that is not a game day's is not wiped for it.
  if (existsSync(sitePaths(dataDir).state) && !existsSync(gamedayPaths(dataDir).state)) {
    throw new CliError(`${dataDir} holds the data of a site (its queues and logs), and a game day starts a fresh site: name another directory with --data, or remove that one first`)
  }
  if (existsSync(gamedayPaths(dataDir).state) && processState(readGameday(dataDir).runnerPid, '--data', isRunner) !== 'down') {
    throw new CliError(`a game day runs under ${dataDir}: "${XCON} gameday end" first, or name another directory with --data`)
  }
  if (existsSync(sitePaths(dataDir).state)) {
    const site = LocalSite.open(dataDir)
    const running = site.names.filter(n => site.processState(n) !== 'down')
    if (running.length > 0) throw new CliError(`a site runs under ${dataDir} (${running.join(', ')}): a game day starts a site of its own there; "${XCON} down" first, or name another with --data`)
  }
  const seed = o.seed ?? Math.floor(Math.random() * 1_000_000)
  // Said now, before anything starts: an incident the catalogue lacks, or this site cannot show.
  let drawn
  try {
    drawn = drawIncident(loadTopology({ topologyFile: o.topology, traffic: 'off' }), seed, { name: o.incident, level: o.level })
  } catch (err) {
    if (err instanceof XconError) throw new CliError(err.message, 2)
    throw err
  }
  // The same seed draws the same incident on both backends; one that slows a link needs the local site's link proxies.
  if (o.docker && drawn.faults.some(f => f.kind === 'latency')) {
    throw new CliError(`seed ${seed} draws an incident that slows a link, which only a local site's link proxies can do (containers have no latency fault): leave out --docker, or choose another with --seed, --level or --incident`, 2)
  }
  rmSync(dataDir, { recursive: true, force: true })
  const paths = gamedayPaths(dataDir)
  mkdirSync(paths.root, { recursive: true })
  writeGameday(dataDir, {
    backend: o.docker ? 'docker' : 'local', seed, incident: o.incident, level: o.level, topologyFile: o.topology === undefined ? undefined : resolve(o.topology), limitMs: o.minutes * 60_000,
    createdAt: new Date().toISOString(), runnerPid: null, briefedAt: null, diagnoses: [], asks: []
  })
  const log = openSync(paths.log, 'a')
  const child = spawn(process.execPath, [RUNNER, '--data', dataDir], { detached: true, stdio: ['ignore', log, log] })
  closeSync(log)
  child.unref()
  writeGameday(dataDir, { ...readGameday(dataDir), runnerPid: child.pid ?? null })
  const failed = join(paths.root, 'failed')
  const ready = await waitUntil(() => {
    if (existsSync(failed)) throw new CliError(`the game day did not start: ${readFileSync(failed, 'utf8')}; see ${paths.log}`)
    return readReady(dataDir)
  }, { timeoutMs: 90_000, intervalMs: 250, failed: err => { if (err instanceof CliError) throw err } })
  if (ready === undefined) throw new CliError(`the game day's site did not come up within 90 s; see ${paths.log}`)
  const { incident } = gamedayIncident(dataDir)
  // The on-call person arrives once users notice: for the leak, once a server has stopped (9156).
  const leakers = incident.causes.filter(c => c.cause === 'leak').map(c => c.server)
  const site = await gamedaySite(dataDir)
  const stopped = async (n: string): Promise<boolean> => ((await site.fetchStatus(n))?.controlBlocks.exhaustedCount ?? 0) > 0
  if (leakers.length > 0) await waitUntil(async () => (await Promise.all(leakers.map(stopped))).some(Boolean), { timeoutMs: 120_000, intervalMs: 500 })
  else await new Promise(resolve => setTimeout(resolve, 5000))
  const flags = ready.compose === undefined ? '' : ` --docker --file ${shellWord(ready.compose.file)} --project ${ready.compose.project}`
  const now = Date.now()
  writeGameday(dataDir, { ...readGameday(dataDir), briefedAt: new Date(now).toISOString() })
  if (o.json === true) {
    out(JSON.stringify({
      site: site.label, servers: site.names, seed, level: o.level ?? null, symptom: incident.symptom, reportedAt: when(ready, now), since: when(ready, ready.t0),
      minutes: o.minutes, until: when(ready, ready.t0 + o.minutes * 60_000), timeScale: ready.timeScale, tools: TOOLS, ...(ready.compose === undefined ? {} : { compose: ready.compose, flags: flags.trim() })
    }, null, 2))
    return
  }
  out(`GAME DAY on the ${site.label}: ${site.names.length} MTAs (${site.names.join(', ')}), seed ${seed}${o.level === undefined ? '' : `, level ${o.level}`}.`)
  out('')
  out(`Reported at ${when(ready, now)}: ${incident.symptom}, since ${when(ready, ready.t0)}. Your time counts from now.`)
  out('')
  out(`You have ${o.minutes} minutes of real time, until ${when(ready, ready.t0 + o.minutes * 60_000)}.`)
  out(`MTA time runs ${ready.timeScale} times faster than real time (the site's time scale).`)
  out(`Your tools: ${TOOLS}.`)
  if (flags !== '') out(`The site is the compose project ${ready.compose!.project}: give every xcon command${flags} (npx xcon${flags} status), and the gameday ones --docker.`)
}

export function gamedayList (json: boolean, out: (line: string) => void): void {
  if (json) {
    out(JSON.stringify({ incidents: CATALOGUE.map(e => ({ name: e.name, level: e.level, summary: e.summary })), causes: CAUSES }))
    return
  }
  out('The incidents of xcon gameday (which one a seed draws is not said):')
  for (const e of CATALOGUE) out(`  ${e.name.padEnd(24)} ${e.level.padEnd(7)} ${e.summary}`)
  out(`Causes a diagnosis may name: ${CAUSES.join(', ')}.`)
}

function readyOf (dataDir: string): GamedayReady {
  const ready = readReady(dataDir)
  if (ready === undefined) throw new CliError(`the game day under ${dataDir} has not started its site; see ${gamedayPaths(dataDir).log}`)
  return ready
}

/** The time left and what has been done so far; never the cause. */
export async function gamedayStatus (dataDir: string, json: boolean, out: (line: string) => void): Promise<void> {
  const state = readGameday(dataDir)
  const ready = readyOf(dataDir)
  const now = Date.now()
  const leftMs = Math.max(0, ready.t0 + state.limitMs - now)
  const ended = existsSync(gamedayPaths(dataDir).debrief)
  const actions = actionsOf((await gamedaySite(dataDir)).actionLogFile, ready.t0, Infinity).filter(a => a.action !== 'diagnose')
  if (json) {
    out(JSON.stringify({ seed: state.seed, ended, leftSeconds: Math.round(leftMs / 1000), mtaTime: when(ready, now), actions, diagnoses: state.diagnoses, asks: state.asks }, null, 2))
    return
  }
  out(ended ? `The game day has ended: ${XCON} gameday end shows the debrief.` : `${Math.ceil(leftMs / 60_000)} min left (${when(ready, now)}).`)
  out(actions.length === 0 ? 'No action yet.' : `Actions: ${actions.map(a => `${formatAt(a.t)} ${a.action}${a.server === undefined ? '' : ` ${a.server}`}${a.team === undefined ? '' : ` ${a.team}`}`).join('; ')}.`)
  out(state.diagnoses.length === 0 ? 'No diagnosis yet.' : `Diagnoses: ${state.diagnoses.map(d => `${d.server} ${d.cause}`).join('; ')}.`)
}

/** Records a diagnosis with its time; each one counts, right or wrong, and none is answered. */
export async function gamedayDiagnose (dataDir: string, server: string, cause: string, json: boolean, out: (line: string) => void): Promise<void> {
  if (!(CAUSES as readonly string[]).includes(cause)) throw new CliError(`--cause: expected one of ${CAUSES.join(', ')}, not "${cause}"`, 2)
  const state = readGameday(dataDir)
  const site = await gamedaySite(dataDir)
  const name = site.resolve(server)
  const ready = readyOf(dataDir)
  const time = new Date().toISOString()
  writeGameday(dataDir, { ...state, diagnoses: [...state.diagnoses, { time, server: name, cause: cause as Cause }] })
  appendActionLine(site.actionLogFile, { level: 'info', server: name, site: site.siteOf(name), action: 'diagnose', cause, msg: `diagnosed by the trainee: ${cause}` })
  if (json) out(JSON.stringify({ server: name, cause, time, mtaTime: when(ready, Date.parse(time)), diagnoses: state.diagnoses.length + 1 }))
  else out(`recorded at ${when(ready, Date.parse(time))}: ${name}, ${cause} (diagnosis ${state.diagnoses.length + 1})`)
}

/** Asks the team that owns a fix outside the MTAs; what it does is what that team would do, and it is an action of the trainee. */
export async function gamedayAsk (dataDir: string, team: string, text: string, json: boolean, out: (line: string) => void): Promise<void> {
  if (team !== 'network' && team !== 'storage') throw new CliError(`gameday ask: expected network or storage, not "${team}"`, 2)
  const state = readGameday(dataDir)
  const site = await gamedaySite(dataDir)
  let answer: string
  if (team === 'storage') {
    const freed = await freeDisksOf(dataDir, site)
    answer = freed.length === 0 ? 'the storage team looked and found every disk of the site with room to spare' : `the storage team freed space on the disk of ${freed.join(', ')}`
  } else {
    const api = site.links()?.api
    let changed = false
    if (site.kind === 'docker') changed = (await site.heal(undefined)) !== 'nothing to heal'
    else if (api !== undefined) {
      for (const url of [`${api}/xcon/partition`, `${api}/xcon/links/toxics/${LATENCY_TOXIC}`]) {
        const res = await fetch(url, { method: 'DELETE' }).catch(() => undefined)
        if (res?.status === 204) changed = true
      }
    }
    answer = changed ? 'the network team found trouble on the site\'s links and mended it' : 'the network team looked and found the network between the MTAs healthy'
  }
  const time = new Date().toISOString()
  writeGameday(dataDir, { ...state, asks: [...state.asks, { time, team, text, answer }] })
  appendActionLine(site.actionLogFile, { level: 'info', server: '-', site: '-', action: 'ask', team, msg: `the trainee asked the ${team} team: ${text}` })
  out(json ? JSON.stringify({ team, text, time, answer }) : answer)
}

/** For the instructor: the cause, and the response that mends it. */
export function gamedayReveal (dataDir: string, json: boolean, out: (line: string) => void): void {
  const { incident } = gamedayIncident(dataDir)
  if (json) {
    out(JSON.stringify({ incident: incident.name, level: incident.level, faults: incident.faults, causes: incident.causes, symptom: incident.symptom, explanation: incident.explanation, expert: incident.expert }, null, 2))
    return
  }
  out(`incident ${incident.name} (${incident.level}): ${incident.faults.map(faultText).join('; ')}`)
  out(incident.explanation)
  out('The expert response:')
  for (const s of incident.expert) out(`  ${s.do === 'ask' ? `${XCON} gameday ask ${s.team} "..."` : `${XCON} ${s.do} ${s.servers.join(' ')}`}: ${s.why}`)
}

/** Ends the exercise (or finds it ended by its time limit), and prints the debrief. */
export async function gamedayEnd (dataDir: string, json: boolean, out: (line: string) => void): Promise<void> {
  const state = readGameday(dataDir)
  const paths = gamedayPaths(dataDir)
  if (!existsSync(paths.debrief)) {
    if (!existsSync(paths.end)) writeFileSync(paths.end, String(Date.now()))
    const runnerAlive = (): boolean => processState(state.runnerPid, '--data', isRunner) !== 'down'
    // The runner heals what is left, lets the queues settle (up to a minute), and checks the history.
    const done = await waitUntil(() => existsSync(paths.debrief) || !runnerAlive(), { timeoutMs: 180_000, intervalMs: 500 })
    if (done === undefined || !existsSync(paths.debrief)) throw new CliError(`the game day's runner wrote no debrief; see ${paths.log}`)
  }
  const d = JSON.parse(readFileSync(paths.debrief, 'utf8')) as { score: number, recovered: boolean, recoverySeconds: number | null, lost: number, duplicated: number, parts: Array<{ part: string, points: number, of: number, text: string }>, findings: Array<{ code: string, text: string }>, debriefHtml: string, incident: string }
  if (json) {
    out(JSON.stringify(d, null, 2))
    return
  }
  out(`Score: ${d.score} / 100 (incident ${d.incident}).`)
  for (const p of d.parts) out(`  ${p.part.padEnd(10)} ${String(p.points).padStart(2)}/${p.of}  ${p.text}`)
  out(d.findings.length === 0 ? 'No findings: every action was needed.' : 'Findings:')
  for (const f of d.findings) out(`  ${f.code}: ${f.text}`)
  out(`The debrief, with the hidden timeline and the expert response: ${d.debriefHtml}`)
}

/** What the dashboard's game-day banner shows: the symptom and the clocks, never the cause. Undefined when no game day runs here. */
export function gamedayBanner (dataDir: string, project?: string): { symptom: string, t0: number, timeScale: number, limitMs: number, ended: boolean } | undefined {
  if (!existsSync(gamedayPaths(dataDir).state)) return undefined
  const ready = readReady(dataDir)
  // On containers, only the dashboard of the game day's own compose project shows it.
  if (ready === undefined || ready.compose?.project !== project) return undefined
  const state = readGameday(dataDir)
  return { symptom: gamedayIncident(dataDir).incident.symptom, t0: ready.t0, timeScale: ready.timeScale, limitMs: state.limitMs, ended: existsSync(gamedayPaths(dataDir).debrief) }
}
