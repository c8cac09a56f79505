import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { allServers, debriefOf, type HistoryRecord } from '@xcon/core'
import { runScenario } from '../scenario/run-scenario.js'
import { sitePaths } from '../site/local/site-state.js'
import { debriefHtml } from './debrief-html.js'
import { gamedayScenario } from './gameday-scenario.js'
import { playOf } from './gameday-play.js'
import { fillDiskOf, freeDisksOf, gamedayIncident } from './gameday-site.js'
import { DockerSite } from '../site/docker/docker-site.js'
import { LocalSite } from '../site/local/local-site.js'
import type { SiteBackend } from '../site/site-backend.js'
import { gamedayPaths, readGameday, writeGameday } from './gameday-state.js'

/**
 * The game day's runner, a process of its own (`xcon gameday start` starts it detached): it runs
 * the incident as a scenario on the site under the data directory, so that every xcon command
 * finds it there, until the time limit or `xcon gameday end`; then it heals everything, lets the
 * queues settle, checks the history, and writes debrief.json and debrief.html beside the report.
 */
async function main (): Promise<void> {
  const at = process.argv.indexOf('--data')
  const dataDir = process.argv[at + 1]
  if (at < 0 || dataDir === undefined) throw new Error('usage: gameday-main --data DIR')
  const paths = gamedayPaths(dataDir)
  const state = readGameday(dataDir)
  const { incident, topology, topologyText } = gamedayIncident(dataDir)
  const scenario = gamedayScenario(topology, topologyText, incident, state.seed, state.limitMs)
  const timeScale = allServers(topology)[0]?.timeScale ?? 1
  const log = (line: string): void => { process.stdout.write(`${line}\n`) }
  let t0 = 0
  // The xcon backend of the same site: what the trainee drives, and whose action log the debrief reads.
  let backend: SiteBackend | undefined
  const run = await runScenario({
    file: scenario.file,
    scenario,
    outDir: paths.run,
    siteDir: dataDir,
    backend: state.backend,
    image: process.env.XCON_IMAGE ?? 'xcon:latest',
    progress: false,
    out: log,
    endEarly: () => existsSync(paths.end),
    // Whatever the trainee left, the lab is put right so that every message can be counted: the
    // disks freed, and each MTA still short of control blocks restarted (the KB's workaround).
    afterEnd: async ({ site, fault }) => {
      if (backend !== undefined) await freeDisksOf(dataDir, backend)
      for (const n of site.names) {
        const s = await site.fetchStatus(n, 2000)
        if (s !== undefined && (s.controlBlocks.free === 0 || s.controlBlocks.leaked > 0)) await fault({ at: 0, action: 'restart', targets: [n], source: 'the game day\'s clean-up' })
      }
    },
    onStarted: async (start, site) => {
      t0 = start
      backend = site.compose === undefined ? LocalSite.open(dataDir) : await DockerSite.open(site.compose)
      for (const f of incident.faults) if (f.kind === 'disk-full') await fillDiskOf(dataDir, backend, f.server)
      writeFileSync(paths.ready, JSON.stringify({ t0: start, timeScale, ...(site.compose === undefined ? {} : { compose: site.compose }) }))
    }
  })
  const endMs = Math.min(state.limitMs, existsSync(paths.end) ? Number(readFileSync(paths.end, 'utf8')) - t0 : state.limitMs)
  const history = readFileSync(join(run.outDir, 'history.ndjson'), 'utf8').trim().split('\n').filter(l => l !== '').map(l => JSON.parse(l) as HistoryRecord)
  const play = playOf(incident, readGameday(dataDir), history, run.result, backend?.actionLogFile ?? sitePaths(dataDir).actions, t0, endMs, timeScale)
  const debrief = debriefOf(play)
  writeFileSync(join(run.outDir, 'debrief.html'), debriefHtml(incident, play, debrief, history))
  writeFileSync(paths.debrief, JSON.stringify({ incident: incident.name, level: incident.level, faults: incident.faults, ...debrief, report: join(run.outDir, 'report.html'), debriefHtml: join(run.outDir, 'debrief.html') }, null, 2))
  writeGameday(dataDir, { ...readGameday(dataDir), runnerPid: null })
}

main().catch((err: Error) => {
  process.stderr.write(`gameday runner: ${err.stack ?? err.message}\n`)
  const at = process.argv.indexOf('--data')
  const dataDir = process.argv[at + 1]
  if (dataDir !== undefined) try { writeFileSync(join(gamedayPaths(dataDir).root, 'failed'), err.message) } catch { /* nothing more to do */ }
  process.exitCode = 1
})
