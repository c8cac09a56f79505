import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EVENT, faultIntervals, findingResult, formatAt, formatDuration, type CheckResult, type HistoryRecord, type Scenario } from '@xcon/core'
import { lineChart, type Marker, type Shade } from './svg-chart.js'

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22']
const VIOLATION = { colour: '#9467bd', name: `${EVENT.securityViolation} security violation` }
const esc = (s: string): string => s.replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
type Rec<T extends HistoryRecord['type']> = Extract<HistoryRecord, { type: T }>
const BINS = [
  { ms: 1000, name: 'second', unit: 's' }, { ms: 10_000, name: '10 seconds', unit: '10 s' }, { ms: 60_000, name: 'minute', unit: 'min' },
  { ms: 600_000, name: '10 minutes', unit: '10 min' }, { ms: 3_600_000, name: 'hour', unit: 'h' }, { ms: 21_600_000, name: '6 hours', unit: '6 h' }, { ms: 86_400_000, name: 'day', unit: 'day' }
]

/**
 * At most one tick per colour in each 1/600 of the time axis (the stop always stays): a month's
 * thousands of 9156s would otherwise make a report of a hundred megabytes that no browser opens.
 */
function thin (markers: Marker[], xMax: number): Marker[] {
  const seen = new Set<string>()
  return markers.filter(m => {
    if (m.tall === true) return true
    const key = `${m.colour}|${Math.floor((m.t / Math.max(1, xMax)) * 600)}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/**
 * Writes report.html (self-contained: inline SVG, no script, no network) and report.md: the
 * verdict and findings, free control blocks and queue depth per MTA with fault periods shaded
 * and events marked, and the message rate.
 */
export function writeReport (outDir: string, scenario: Scenario, history: HistoryRecord[], result: CheckResult): void {
  const of = <T extends HistoryRecord['type']>(type: T): Array<Rec<T>> => history.filter(r => r.type === type) as Array<Rec<T>>
  const servers = of('run')[0]?.servers ?? []
  const xMax = history.reduce((m, r) => Math.max(m, r.t), scenario.durationMs)
  const intervals = faultIntervals(history)
  const shades: Shade[] = []
  for (const [server, spans] of intervals) for (const [from, to] of spans) shades.push({ from, to, label: `${server} under a fault` })
  const faultMarkers: Marker[] = of('fault').map(f => ({ t: f.t, colour: f.action === 'restart' ? '#2ca02c' : '#f4b400', label: `${f.action} ${f.targets.join(', ')} (${f.source})` }))
  // One MTA's ticks: its faults; its first start (grey) apart from its restarts (green); its
  // 9156s, with the one the checker counts as the stop drawn down the whole chart (black).
  const markersOf = (server: string): Marker[] => {
    const stopAt = result.stops[server]?.at ?? null
    const starts = of('event').filter(e => e.server === server && e.eventId === EVENT.started)
    return [
      ...of('fault').filter(f => f.targets.includes(server)).map(f => ({ t: f.t, colour: f.action === 'restart' ? '#2ca02c' : '#f4b400', label: `${formatAt(f.t)} ${f.action} ${f.targets.join(', ')} (${f.source})` })),
      ...starts.map((e, i) => i === 0
        ? { t: e.t, colour: '#9e9e9e', label: `${formatAt(e.t)} ${server}: first startup (9298)` }
        : { t: e.t, colour: '#2ca02c', label: `${formatAt(e.t)} ${server}: started again (9298)` }),
      ...of('event').filter(e => e.server === server && (e.eventId === EVENT.noFreeControlBlocks || e.eventId === EVENT.securityViolation)).map(e => {
        const peer = e.peer === undefined || e.peer === null ? '' : ` (${e.peer})`
        if (e.eventId === EVENT.securityViolation) return { t: e.t, colour: VIOLATION.colour, label: `${formatAt(e.t)} ${server}: ${VIOLATION.name}${peer}` }
        return e.t === stopAt
          ? { t: e.t, colour: '#000000', tall: true, label: `${formatAt(e.t)} ${server}: the stop: the first 9156 toward a healthy peer${peer}` }
          : { t: e.t, colour: '#f28b82', label: `${formatAt(e.t)} ${server}: 9156${peer}${stopAt === null || e.t < stopAt ? ', toward a peer under a fault' : ''}` }
      })
    ]
  }
  const samples = of('sample')
  const pointsOf = (server: string, field: 'free' | 'depth'): Array<[number, number]> =>
    samples.filter(x => x.server === server).map(x => [x.t, x.state === 'running' ? (x[field] ?? 0) : 0] as [number, number])
  // Small multiples: one row per MTA on a shared time axis, so that no line hides another.
  const small = servers.map((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!
    const shadesOf = shades.filter(sh => sh.label === `${s.name} under a fault`)
    const capacity = samples.find(x => x.server === s.name && x.capacity !== undefined)?.capacity
    const name = `${s.name} (${s.build}, ${s.site})`
    return `<div class="row">${lineChart({ title: `${name}: free control blocks`, yLabel: 'free', xMaxMs: xMax, series: [{ name, colour, points: pointsOf(s.name, 'free') }], shades: shadesOf, markers: thin(markersOf(s.name), xMax), width: 470, height: 150, yMax: capacity, legend: false })}` +
      `${lineChart({ title: `${name}: queued messages`, yLabel: 'queued', xMaxMs: xMax, series: [{ name, colour, points: pointsOf(s.name, 'depth') }], shades: shadesOf, markers: thin(markersOf(s.name).filter(m => m.colour !== '#f28b82'), xMax), width: 470, height: 150, legend: false })}</div>`
  }).join('\n')
  // Bins of a second for a minute's run, of an hour for a month's: at most about 600 of them.
  const bin = BINS.find(b => xMax / b.ms <= 600) ?? BINS[BINS.length - 1]!
  const bins = (records: HistoryRecord[]): Array<[number, number]> => {
    const n = Math.ceil(xMax / bin.ms) + 1
    const counts = new Array<number>(n).fill(0)
    for (const r of records) counts[Math.min(n - 1, Math.max(0, Math.floor(r.t / bin.ms)))]!++
    return counts.map((c, i) => [i * bin.ms, c])
  }
  const rateChart = lineChart({
    title: `Messages per ${bin.name}`, yLabel: `messages / ${bin.unit}`, xMaxMs: xMax, shades, markers: thin(faultMarkers, xMax),
    series: [
      { name: 'submitted', colour: '#1f77b4', points: bins(of('submit')) },
      { name: 'delivered', colour: '#2ca02c', points: bins(of('deliver').filter(d => d.kind === 'message')) },
      { name: 'NDR (290)', colour: '#d62728', points: bins(of('event').filter(e => e.eventId === EVENT.nonDelivery)) }
    ]
  })
  const perMta = servers.map(s => {
    const stop = result.stops[s.name]
    const spans = (intervals.get(s.name) ?? []).map(([a, b]) => b < 600_000 ? `${(a / 1000).toFixed(1)}-${formatAt(b)}` : `${formatAt(a)} to ${formatAt(b)}`).join(', ') || 'none'
    return { ...s, stop: stop?.at === null || stop === undefined ? 'no stop' : `stopped at ${formatAt(stop.at)} (${stop.peer ?? '?'})${stop.recoveredAt === null ? '' : `, restarted at ${formatAt(stop.recoveredAt)}`}`, spans }
  })

  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xcon scenario ${esc(scenario.name)}: ${result.verdict}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:980px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.row{display:flex;gap:8px}.row svg{margin:4px 0}.valid{color:#2ca02c}.invalid{color:#d62728}.unknown{color:#f4b400}.FAIL{color:#d62728;font-weight:bold}.ok{color:#2ca02c}svg{display:block;margin:12px 0}</style></head><body>
<h1>xcon scenario <code>${esc(scenario.name)}</code>: <span class="${result.verdict}">${result.verdict}</span></h1>
<p>Seed ${scenario.seed}, ${formatDuration(scenario.durationMs)} of faults and traffic, then up to ${formatDuration(scenario.settleMs)} to settle. ${result.counts.submitted} messages submitted to ${result.counts.recipients} recipients: ${result.counts.delivered} delivered once, ${result.counts.ndr} answered with an NDR, ${result.counts.lost} missing, ${result.counts.duplicated} duplicated.</p>
<table><tr><th>check</th><th>subject</th><th>result</th><th>detail</th></tr>
${result.findings.map(f => `<tr><td>${f.check}</td><td>${esc(f.subject)}</td><td class="${findingResult(f)}">${findingResult(f)}</td><td>${esc(f.detail)}</td></tr>`).join('\n')}</table>
<table><tr><th>MTA</th><th>site</th><th>build</th><th>Q260167</th><th>under a fault</th></tr>
${perMta.map(m => `<tr><td>${m.name}</td><td>${m.site}</td><td>${m.build}</td><td>${esc(m.stop)}</td><td>${m.spans}</td></tr>`).join('\n')}</table>
<p>One row per MTA, all on the same time axis (0 while down). Shaded: periods when that MTA was killed, stopped, paused or cut off. Ticks on top: faults on it (yellow), its first startup (grey), restarts and later starts (green), 9156 (pink), 9297 (purple); the dashed black line down a chart is the stop, the first 9156 toward a healthy peer, which the table counts. Hover for details.</p>
${small}
${rateChart}
</body></html>
`
  writeFileSync(join(outDir, 'report.html'), html)

  const md = [
    `# xcon scenario \`${scenario.name}\`: ${result.verdict}`,
    '',
    `Seed ${scenario.seed}. ${result.counts.submitted} messages to ${result.counts.recipients} recipients: ${result.counts.delivered} delivered once, ${result.counts.ndr} NDR, ${result.counts.lost} missing, ${result.counts.duplicated} duplicated, ${result.counts.pending} still queued at the end.`,
    '',
    '| check | subject | result | detail |',
    '|---|---|---|---|',
    ...result.findings.map(f => `| ${f.check} | ${f.subject} | ${findingResult(f)} | ${f.detail.replace(/\|/g, '\\|')} |`),
    '',
    '| MTA | site | build | Q260167 | under a fault |',
    '|---|---|---|---|---|',
    ...perMta.map(m => `| ${m.name} | ${m.site} | ${m.build} | ${m.stop} | ${m.spans} |`),
    '',
    'Charts: report.html. History: history.ndjson. Findings: results.json.',
    ''
  ].join('\n')
  writeFileSync(join(outDir, 'report.md'), md)
}
