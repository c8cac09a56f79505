import { formatDuration } from '../durations.js'
import { causesOf, type Cause, type Incident } from './incident.js'

/** What the trainee did: an xcon command on a server, or a request to a team (`gameday ask`). */
export interface PlayAction { t: number, action: string, server?: string | undefined, team?: string | undefined }
export interface PlayDiagnosis { t: number, server: string, cause: Cause }

/** Everything measured about one game day, in real milliseconds from its start. */
export interface Play {
  incident: Incident
  /** When the trainee was told of the symptom (`gameday start` printed it): their times count from here. */
  briefedMs: number
  /** How long the exercise lasted, and its limit. */
  durationMs: number
  limitMs: number
  actions: PlayAction[]
  diagnoses: PlayDiagnosis[]
  /** When every queue had drained and every MTA was healthy after the last fault was mended; null if never. */
  recoveredMs: number | null
  lost: number
  duplicated: number
  /** Mail delay: for each message, the minutes it waited beyond its normal transfer, summed. */
  delayMessageMinutes: number
  /** The same, counted only up to the briefing: what the trainee found. */
  delayAtBriefing: number
  /** What the expert response takes on this site, from the briefing (its steps, each as long as the commands take here). */
  expertMs: number
  /** MTA seconds per real second: each time is said in both. */
  timeScale: number
}

export interface DebriefFinding { code: string, text: string }
export interface ScorePart { part: string, points: number, of: number, text: string }

export interface Debrief {
  score: number
  parts: ScorePart[]
  recovered: boolean
  recoverySeconds: number | null
  firstCorrectDiagnosisSeconds: number | null
  lost: number
  duplicated: number
  findings: DebriefFinding[]
}

const RESTARTS = new Set(['restart', 'stop', 'kill'])

/**
 * The findings: each unnecessary action, each wrong diagnosis, and what went missing. A restart
 * of a leaky MTA before its dead peer is back leaks it again (KB Q260167: the "large number of
 * connection failures" is what uses the resources up), so it is named as such.
 */
export function findingsOf (play: Play): DebriefFinding[] {
  const { incident } = play
  // Each moment as the trainee lived it: counted from the report.
  const said = spoken(play.timeScale)
  const s = (t: number): string => t < play.briefedMs ? `${said(play.briefedMs - t)} before the report` : `${said(t - play.briefedMs)} after the report`
  const findings: DebriefFinding[] = []
  const deadPeers = incident.causes.filter(c => c.cause === 'peer-down').map(c => c.server)
  const backAt = (server: string): number => play.actions.find(a => a.server === server && (a.action === 'start' || a.action === 'restart'))?.t ?? Infinity
  for (const a of play.actions) {
    if (a.server === undefined || !RESTARTS.has(a.action)) continue
    const truth = causesOf(incident, a.server)
    if (truth.includes('leak')) {
      const stillDown = deadPeers.filter(p => backAt(p) > a.t)
      if (stillDown.length > 0) {
        findings.push({ code: 'restart-before-peer', text: `${a.action} of ${a.server}, ${s(a.t)}, while ${stillDown.join(', ')} was still down: its failed opens to ${stillDown.join(', ')} began again, and it leaked its control blocks again` })
      }
    } else if (truth.includes('none')) {
      findings.push({ code: 'restart-healthy', text: `${a.action} of ${a.server}, ${s(a.t)}: it was healthy, so its users lost service for nothing` })
    } else if (truth.some(c => c === 'partition' || c === 'slow-link' || c === 'disk-full')) {
      findings.push({ code: 'restart-not-the-fix', text: `${a.action} of ${a.server}, ${s(a.t)}: its trouble was ${truth.includes('disk-full') ? 'its disk' : 'the network'}, which a restart does not mend` })
    }
  }
  for (const d of play.diagnoses) {
    const truth = causesOf(incident, d.server)
    if (!truth.includes(d.cause)) findings.push({ code: 'wrong-diagnosis', text: `${s(d.t)}, ${d.server} diagnosed as ${d.cause}; it was ${truth.join(' and ')}` })
  }
  if (!play.diagnoses.some(d => d.cause !== 'none' && causesOf(incident, d.server).includes(d.cause))) findings.push({ code: 'no-correct-diagnosis', text: 'no diagnosis named a cause that was there' })
  if (play.recoveredMs === null) findings.push({ code: 'not-recovered', text: `the site had not recovered when the exercise ended, ${s(play.durationMs)}` })
  if (play.lost > 0) findings.push({ code: 'lost', text: `${play.lost} messages lost: xcon promises none, whatever the trainee does; this is a bug of xcon` })
  if (play.duplicated > 0) findings.push({ code: 'duplicated', text: `${play.duplicated} messages delivered twice: a bug of xcon` })
  return findings
}

/** A real duration, with the MTA time it was on the site's clock beside it: "24 s (4 h of MTA time)". */
function spoken (timeScale: number): (ms: number) => string {
  return ms => `${Math.round(ms / 1000)} s${timeScale === 1 ? '' : ` (${formatDuration(ms * timeScale)} of MTA time)`}`
}

/** Points for a time: all of them at the expert's pace or better, none at the limit, linear between. */
function byTime (ms: number | null, expertMs: number, limitMs: number, of: number): number {
  if (ms === null) return 0
  if (ms <= expertMs) return of
  return Math.max(0, Math.round(of * (limitMs - ms) / Math.max(1, limitMs - expertMs)))
}

/**
 * The score, out of 100, from what was measured, each part explained in a sentence: time to a
 * correct diagnosis (25), time to recovery (35), mail delay (15), nothing lost or duplicated
 * (15), and no unnecessary action (10, less 5 for each).
 */
export function debriefOf (play: Play): Debrief {
  const findings = findingsOf(play)
  const s = spoken(play.timeScale)
  const correct = play.diagnoses.filter(d => d.cause !== 'none' && causesOf(play.incident, d.server).includes(d.cause)).map(d => d.t - play.briefedMs)
  const firstCorrect = correct.length === 0 ? null : Math.max(0, Math.min(...correct))
  const recovered = play.recoveredMs === null ? null : Math.max(0, play.recoveredMs - play.briefedMs)
  const limit = play.limitMs - play.briefedMs
  const unnecessary = findings.filter(f => f.code.startsWith('restart-')).length
  // Stuck mail piles up at a steady rate and each message waits until the fix, so the
  // message-minutes grow with the square of the time: an expert mending it expertMs after the
  // report would have left about this much.
  const since = Math.max(1, play.briefedMs)
  const expertDelay = Math.max(0.5, play.delayAtBriefing * ((since + play.expertMs) / since) ** 2)
  const parts: ScorePart[] = [
    {
      part: 'diagnosis', of: 25, points: byTime(firstCorrect, play.expertMs, limit, 25),
      text: firstCorrect === null ? 'No diagnosis named the cause.' : `The first correct diagnosis came ${s(firstCorrect)} after the report; an expert needs about ${s(play.expertMs)}.`
    },
    {
      part: 'recovery', of: 35, points: byTime(recovered, play.expertMs, limit, 35),
      text: recovered === null ? 'The site did not recover within the exercise.' : `Every queue drained and every MTA was healthy ${s(recovered)} after the report; the expert response takes about ${s(play.expertMs)} here.`
    },
    {
      part: 'delay', of: 15, points: play.delayMessageMinutes <= expertDelay ? 15 : Math.max(0, Math.round(15 * expertDelay / play.delayMessageMinutes)),
      text: `Mail waited ${play.delayMessageMinutes.toFixed(1)} message-minutes in all (${play.delayAtBriefing.toFixed(1)} of them before the report); an expert response would have left about ${expertDelay.toFixed(1)}.`
    },
    {
      part: 'integrity', of: 15, points: play.lost === 0 && play.duplicated === 0 ? 15 : 0,
      text: `${play.lost} messages lost and ${play.duplicated} duplicated${play.lost + play.duplicated === 0 ? ', as xcon promises whatever the trainee does' : ''}.`
    },
    {
      part: 'actions', of: 10, points: Math.max(0, 10 - 5 * unnecessary),
      text: unnecessary === 0 ? 'No unnecessary action.' : `${unnecessary} unnecessary ${unnecessary === 1 ? 'action' : 'actions'} (see the findings).`
    }
  ]
  return {
    score: parts.reduce((sum, p) => sum + p.points, 0),
    parts,
    recovered: play.recoveredMs !== null,
    recoverySeconds: recovered === null ? null : Math.round(recovered / 100) / 10,
    firstCorrectDiagnosisSeconds: firstCorrect === null ? null : Math.round(firstCorrect / 100) / 10,
    lost: play.lost,
    duplicated: play.duplicated,
    findings
  }
}
