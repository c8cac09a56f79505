import { leaksConnectionResources, type Build } from '../builds.js'
import { formatAt } from '../durations.js'
import { EVENT } from '../log-schema.js'
import type { Expectations } from '../scenario/scenario.js'
import type { HistoryRecord } from './history.js'

export type Verdict = 'valid' | 'invalid' | 'unknown'

/** One thing the checker looked at: ok (true), broken (false), or not decidable (null). */
export interface Finding {
  check: 'history' | 'delivery' | 'submissions' | 'stop' | 'drain' | 'connectors'
  subject: string
  ok: boolean | null
  detail: string
}

export interface CheckResult {
  verdict: Verdict
  /** Maelstrom's exit codes: 0 valid, 1 invalid, 2 unknown. */
  exitCode: 0 | 1 | 2
  findings: Finding[]
  counts: { submitted: number, recipients: number, delivered: number, ndr: number, lost: number, duplicated: number, pending: number }
  stops: Record<string, { at: number | null, peer: string | null, recoveredAt: number | null }>
}

/** How a finding reads in a table: a stop finding with no expectation is information, any other open one is unknown. */
export function findingResult (f: Finding): 'ok' | 'FAIL' | 'unknown' | 'info' {
  return f.ok === true ? 'ok' : f.ok === false ? 'FAIL' : f.check === 'stop' || f.check === 'submissions' ? 'info' : 'unknown'
}

type Rec<T extends HistoryRecord['type']> = Extract<HistoryRecord, { type: T }>

/** Which fault ends which: a kill by a start, a pause by a resume, a cut by a join; heal ends all. */
type FaultKind = 'down' | 'starting' | 'paused' | 'cut'
const FAULT_KIND: Record<string, FaultKind> = { kill: 'down', stop: 'down', pause: 'paused', partition: 'cut', 'fail-node': 'down' }
const ENDS: Record<string, FaultKind[]> = { start: ['down'], restart: ['down'], resume: ['paused'], join: ['cut'], heal: ['down', 'paused', 'cut'], 'restore-node': ['down'] }

/**
 * What the link API did (runner: `link-toxic`, `link-untoxic`, `link-disable`, `link-enable`,
 * `link-reset`): each toxic or disabled link is a fault of its own on both its ends until it is
 * removed, so one toxic's removal does not end another's period. A join, heal or reset ends them.
 */
const LINK_MARK = 'link '
function linkFaults (r: Extract<HistoryRecord, { type: 'fault' }>, server: string, kinds: Set<string>): void {
  const mine = (r.links ?? []).filter(l => l.split('->').includes(server))
  const key = (l: string): string => `${LINK_MARK}${l}/${r.toxic ?? 'disabled'}`
  if (r.action === 'link-toxic' || r.action === 'link-disable') for (const l of mine) kinds.add(key(l))
  if (r.action === 'link-untoxic' || r.action === 'link-enable') for (const l of mine) kinds.delete(key(l))
  if (r.action === 'link-reset' || r.action === 'join' || r.action === 'heal') {
    for (const k of [...kinds]) if (k.startsWith(LINK_MARK)) kinds.delete(k)
    if (r.action === 'link-reset') kinds.delete('cut')
  }
}

/**
 * The times each server was under a fault (down, paused, cut off, or on a link with a toxic),
 * overlapping faults merged. A server started again is still down until it logs 9298 (startup
 * complete): a container takes a second or two to start, and a flap may kill it again before it
 * ever answers.
 */
export function faultIntervals (history: HistoryRecord[]): Map<string, Array<[number, number]>> {
  const active = new Map<string, Set<string>>()
  const since = new Map<string, number>()
  const intervals = new Map<string, Array<[number, number]>>()
  let end = 0
  const change = (s: string, t: number, edit: (kinds: Set<string>) => void): void => {
    const kinds = active.get(s) ?? new Set<string>()
    const before = kinds.size
    edit(kinds)
    active.set(s, kinds)
    if (before === 0 && kinds.size > 0) since.set(s, t)
    if (before > 0 && kinds.size === 0) intervals.set(s, [...(intervals.get(s) ?? []), [since.get(s)!, t]])
  }
  for (const r of history) {
    end = Math.max(end, r.t)
    if (r.type === 'event' && r.eventId === EVENT.started) change(r.server, r.t, kinds => kinds.delete('starting'))
    if (r.type !== 'fault') continue
    for (const s of r.targets) {
      change(s, r.t, kinds => {
        const starts = r.action === 'restart' || (kinds.has('down') && ENDS[r.action]?.includes('down') === true)
        const kind = FAULT_KIND[r.action]
        if (kind !== undefined) kinds.add(kind)
        for (const k of ENDS[r.action] ?? []) kinds.delete(k)
        linkFaults(r, s, kinds)
        if (starts) kinds.add('starting')
      })
    }
  }
  for (const [s, kinds] of active) if (kinds.size > 0) intervals.set(s, [...(intervals.get(s) ?? []), [since.get(s)!, end]])
  return intervals
}

/**
 * Checks a history: every recipient of every submitted message got it exactly once or a
 * non-delivery report; each MTA stopped reaching healthy peers of its site only if expected
 * (an SP4 MTA never may); a restarted MTA's queues drained; connectors lost nothing.
 */
export function checkHistory (history: HistoryRecord[], expect: Expectations): CheckResult {
  const findings: Finding[] = []
  // Grouped once: a month's history has a million records, and the checks ask for each type many times.
  const byType = new Map<HistoryRecord['type'], HistoryRecord[]>()
  for (const r of history) {
    const list = byType.get(r.type)
    if (list === undefined) byType.set(r.type, [r])
    else list.push(r)
  }
  const of = <T extends HistoryRecord['type']>(type: T): Array<Rec<T>> => (byType.get(type) ?? []) as Array<Rec<T>>
  const run = of('run')[0]
  const builds = new Map((run?.servers ?? []).map(s => [s.name, s]))
  const end = of('end')[0]

  // A history without its first or last record (an interrupted run, a truncated file) cannot show a
  // loss, a missing stop or a missing drain (they may have come later); a duplicate or a stop it does show stands.
  const complete = run !== undefined && end !== undefined
  if (!complete) {
    findings.push({ check: 'history', subject: 'the run', ok: null, detail: `no "${run === undefined ? 'run' : 'end'}" record: the run did not finish, so nothing can be concluded` })
  }

  // Delivery: exactly once or an NDR, per recipient.
  const delivered = new Map<string, number>()
  for (const d of of('deliver')) if (d.kind === 'message') delivered.set(`${d.mtsId}|${d.mailbox}@${d.server}`, (delivered.get(`${d.mtsId}|${d.mailbox}@${d.server}`) ?? 0) + 1)
  const ndr = new Set<string>()
  for (const e of of('event')) if (e.eventId === EVENT.nonDelivery && e.mtsId !== undefined) for (const r of e.recipients ?? []) ndr.add(`${e.mtsId}|${r}`)
  const counts = { submitted: 0, recipients: 0, delivered: 0, ndr: 0, lost: 0, duplicated: 0, pending: end?.pending ?? 0 }
  const lostExamples: string[] = []
  const dupExamples: string[] = []
  for (const s of of('submit')) {
    counts.submitted++
    for (const to of s.to) {
      counts.recipients++
      const key = `${s.mtsId}|${to}`
      const n = delivered.get(key) ?? 0
      if (n === 1) counts.delivered++
      else if (n > 1) { counts.duplicated++; dupExamples.push(`${s.mtsId} to ${to} (${n} times)`) } else if (ndr.has(key)) counts.ndr++
      else { counts.lost++; lostExamples.push(`${s.mtsId} to ${to}`) }
    }
  }
  findings.push({
    check: 'delivery',
    subject: 'every message',
    ok: counts.duplicated > 0 ? false : counts.lost === 0 ? true : counts.pending > 0 || !complete ? null : false,
    detail: `${counts.submitted} submitted to ${counts.recipients} recipients: ${counts.delivered} delivered once, ${counts.ndr} answered with an NDR, ${counts.lost} missing${counts.pending > 0 && counts.lost > 0 ? ` (${counts.pending} still queued at the end)` : ''}, ${counts.duplicated} duplicated` +
      (dupExamples.length > 0 ? `; duplicated: ${dupExamples.slice(0, 3).join(', ')}` : '') + (lostExamples.length > 0 ? `; missing: ${lostExamples.slice(0, 3).join(', ')}` : '')
  })

  // Submissions an MTA refused (it was down, or its disk full) were never accepted, so they are
  // neither lost nor delivered; shown, so that traffic the schedule meant to send is accounted for.
  const refused = of('submit-failed')
  if (refused.length > 0) {
    const byFrom = new Map<string, number>()
    for (const r of refused) byFrom.set(r.from, (byFrom.get(r.from) ?? 0) + 1)
    findings.push({
      check: 'submissions',
      subject: 'refused at submission',
      ok: null,
      detail: `${refused.length} never accepted (${[...byFrom].map(([s, n]) => `${n} on ${s}`).join(', ')}), so not counted as submitted; first: ${refused[0]!.error}`
    })
  }

  // Q260167: the first 9156 for an outbound association to a peer that was under no fault.
  const faulted = faultIntervals(history)
  const healthy = (server: string, t: number): boolean => !(faulted.get(server) ?? []).some(([a, b]) => t >= a && t <= b)
  const restarts = of('fault').filter(f => f.action === 'restart' || f.action === 'start')
  const stops: CheckResult['stops'] = {}
  for (const [name, info] of builds) {
    const hit = of('event').find(e => e.server === name && e.eventId === EVENT.noFreeControlBlocks && e.pool !== 'connector' && e.direction === 'outbound' && typeof e.peer === 'string' && healthy(e.peer, e.t) && healthy(name, e.t))
    const recovered = hit === undefined ? undefined : restarts.find(f => f.targets.includes(name) && f.t > hit.t)
    stops[name] = { at: hit?.t ?? null, peer: (hit?.peer as string | undefined) ?? null, recoveredAt: recovered?.t ?? null }
    const expected = expect.stops[name] ?? (leaksConnectionResources(info.build as Build) ? undefined : false)
    const what = hit === undefined ? 'never stopped reaching its healthy peers' : `stopped reaching ${hit.peer as string}, under no fault at that moment, at ${formatAt(hit.t)} (9156)${recovered === undefined ? '' : `, restarted at ${formatAt(recovered.t)}`}`
    findings.push({
      check: 'stop',
      subject: `${name} (build ${info.build})`,
      ok: expected === undefined ? null : expected === (hit !== undefined) ? true : expected && !complete ? null : false,
      detail: expected === undefined ? what : `${what}; expected ${expected ? 'a stop' : 'no stop'}`
    })
  }

  // After each restart, the MTA's queues drain.
  if (expect.drainAfterRestart) {
    for (const f of of('fault').filter(f => f.action === 'restart')) {
      for (const name of f.targets) {
        const drained = of('sample').find(s => s.server === name && s.t > f.t && s.state === 'running' && s.depth === 0)
        findings.push({
          check: 'drain',
          subject: `${name} after its restart at ${formatAt(f.t)}`,
          ok: drained !== undefined ? true : complete ? false : null,
          detail: drained === undefined ? 'its queues never emptied' : `queues empty ${formatAt(drained.t - f.t)} after the restart`
        })
      }
    }
  }

  // Connectors: no control block lost, no 9156 in the connector pool.
  if (expect.connectorsFlow && of('sample').some(s => s.connectorDepth !== undefined)) {
    const leaked = of('sample').filter(s => (s.connectorLeaked ?? 0) > 0)
    const exhausted = of('event').filter(e => e.eventId === EVENT.noFreeControlBlocks && e.pool === 'connector')
    findings.push({
      check: 'connectors',
      subject: 'every connector',
      ok: leaked.length === 0 && exhausted.length === 0,
      detail: leaked.length === 0 && exhausted.length === 0 ? 'no connector control block lost, no 9156 on a connector' : `${leaked.length} samples with lost connector control blocks, ${exhausted.length} 9156 on connectors`
    })
  }

  const verdict: Verdict = findings.some(f => f.ok === false) ? 'invalid' : findings.some(f => findingResult(f) === 'unknown') ? 'unknown' : 'valid'
  return { verdict, exitCode: verdict === 'valid' ? 0 : verdict === 'invalid' ? 1 : 2, findings, counts, stops }
}
