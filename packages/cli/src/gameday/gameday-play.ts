import { existsSync, readFileSync } from 'node:fs'
import { causesOf, type CheckResult, type HistoryRecord, type Incident, type Play, type PlayAction } from '@xcon/core'
import type { GamedayState } from './gameday-state.js'

/** The trainee's actions on the site, from its action log: every xcon command and dashboard button, and each `gameday ask`. */
export function actionsOf (actionLogFile: string, t0: number, endMs: number): PlayAction[] {
  if (!existsSync(actionLogFile)) return []
  const out: PlayAction[] = []
  for (const line of readFileSync(actionLogFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue
    let r: Record<string, unknown>
    try { r = JSON.parse(line) as Record<string, unknown> } catch { continue }
    const t = Date.parse(String(r.time)) - t0
    if (r.tag !== 'action' || typeof r.action !== 'string' || !(t >= 0) || t > endMs) continue
    out.push({ t, action: r.action, server: typeof r.server === 'string' && r.server !== '-' ? r.server : undefined, team: typeof r.team === 'string' ? r.team : undefined })
  }
  return out.sort((a, b) => a.t - b.t)
}

/**
 * When each fault of the incident was mended by what the trainee did: a dead peer by its start,
 * a hung MTA by its resume (or restart), a link by the network team, a disk by the storage team,
 * and a leaky MTA by a restart after every dead peer of its site was back. Infinity: never.
 */
export function mendedAt (incident: Incident, actions: PlayAction[]): number {
  const first = (p: (a: PlayAction) => boolean): number => actions.find(p)?.t ?? Infinity
  const peersBack = Math.max(0, ...incident.causes.filter(c => c.cause === 'peer-down').map(c => first(a => a.server === c.server && (a.action === 'start' || a.action === 'restart'))))
  const times = incident.causes.map(({ server, cause }) => {
    switch (cause) {
      case 'peer-down': return first(a => a.server === server && (a.action === 'start' || a.action === 'restart'))
      case 'paused': return first(a => a.server === server && (a.action === 'resume' || a.action === 'restart'))
      case 'leak': return first(a => a.server === server && a.action === 'restart' && a.t >= peersBack)
      case 'partition': case 'slow-link': return first(a => (a.action === 'ask' && a.team === 'network') || a.action === 'heal')
      case 'disk-full': return first(a => a.action === 'ask' && a.team === 'storage')
      case 'none': return 0
    }
    return Infinity
  })
  return Math.max(0, ...times)
}

/**
 * The first sample, once every fault was mended, at which every MTA ran with a control block
 * free and every queue was empty: the recovery. Null if it never came before `endMs`.
 */
export function recoveredAt (history: readonly HistoryRecord[], names: string[], mended: number, endMs: number): number | null {
  if (!Number.isFinite(mended)) return null
  const last = new Map<string, Extract<HistoryRecord, { type: 'sample' }>>()
  for (const r of history) {
    if (r.type !== 'sample') continue
    last.set(r.server, r)
    if (r.t < mended || r.t > endMs) continue
    const all = names.map(n => last.get(n))
    if (all.every(s => s !== undefined && s.t >= mended - 1000 && s.state === 'running' && (s.free ?? 0) > 0 && (s.depth ?? 0) === 0)) return r.t
  }
  return null
}

/**
 * Message-minutes of delay up to `untilMs`: for each message, how long it waited beyond two
 * seconds, until its delivery or `untilMs`, summed (real minutes). A message never delivered
 * waits until then too.
 */
export function delayOf (history: readonly HistoryRecord[], untilMs: number): number {
  const submitted = new Map<string, number>()
  let sum = 0
  for (const r of history) {
    if (r.type === 'submit') submitted.set(r.mtsId, r.t)
    else if (r.type === 'deliver' && r.kind === 'message') {
      const at = submitted.get(r.mtsId)
      if (at !== undefined) { sum += Math.max(0, Math.min(r.t, untilMs) - at - 2000); submitted.delete(r.mtsId) }
    }
  }
  for (const at of submitted.values()) if (at < untilMs) sum += Math.max(0, untilMs - at - 2000)
  return sum / 60_000
}

/**
 * How long the expert response takes on this site, from the report: about 15 s to read status
 * and the logs, 5 s per step of the response, and the drain after it (10 s; a restarted
 * pre-SP4 MTA has a backlog to send).
 */
export function expertMs (incident: Incident): number {
  return 15_000 + incident.expert.length * 5000 + 10_000
}

/** Everything the debrief scores, from the run's history, the action log and what the trainee diagnosed. */
export function playOf (incident: Incident, state: GamedayState, history: readonly HistoryRecord[], result: CheckResult, actionLogFile: string, t0: number, endMs: number, timeScale: number): Play {
  const briefedMs = state.briefedAt === null ? 0 : Math.max(0, Date.parse(state.briefedAt) - t0)
  const names = [...new Set(history.filter(r => r.type === 'sample').map(r => (r as { server: string }).server))]
  const actions = actionsOf(actionLogFile, t0, endMs).filter(a => a.action !== 'diagnose')
  return {
    incident,
    briefedMs,
    durationMs: endMs,
    limitMs: state.limitMs,
    actions,
    diagnoses: state.diagnoses.map(d => ({ t: Date.parse(d.time) - t0, server: d.server, cause: d.cause })),
    recoveredMs: recoveredAt(history, names, mendedAt(incident, actions), endMs),
    lost: result.counts.lost,
    duplicated: result.counts.duplicated,
    delayMessageMinutes: delayOf(history, Infinity),
    delayAtBriefing: delayOf(history, briefedMs),
    expertMs: expertMs(incident),
    timeScale
  }
}

/** Whether `cause` on `server` is what the incident holds: for the reveal. */
export const isTrue = (incident: Incident, server: string, cause: string): boolean => (causesOf(incident, server) as string[]).includes(cause)
