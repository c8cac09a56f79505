import { formatAt, type Debrief, type HistoryRecord, type Incident, type Play } from '@xcon/core'
import { lineChart, type Marker, type Series } from '../scenario/svg-chart.js'

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']
const esc = (s: string): string => s.replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

/** A fault of the incident, in words. */
export function faultText (f: Incident['faults'][number]): string {
  switch (f.kind) {
    case 'kill': return `${f.server} killed (SIGKILL)`
    case 'pause': return `${f.server} paused (SIGSTOP)`
    case 'disk-full': return `${f.server}'s disk filled`
    case 'partition': return `packets from ${f.from} to ${f.to} dropped`
    case 'latency': return `${f.delayMs ?? 2000} ms added to the link from ${f.from} to ${f.to}`
  }
}

/**
 * debrief.html, beside the scenario's report.html: the hidden timeline revealed, the trainee's
 * actions and diagnoses on the same time axis as the report's charts (free control blocks and
 * queue depth per MTA), the score part by part, the findings, and the expert response.
 * Self-contained: inline SVG, no script, no network.
 */
export function debriefHtml (incident: Incident, play: Play, debrief: Debrief, history: readonly HistoryRecord[]): string {
  const samples = history.filter(r => r.type === 'sample') as Array<Extract<HistoryRecord, { type: 'sample' }>>
  const names = [...new Set(samples.map(s => s.server))]
  const xMax = Math.max(play.durationMs, ...history.map(r => r.t))
  const series = (field: 'free' | 'depth'): Series[] => names.map((n, i) => ({
    name: n, colour: COLOURS[i % COLOURS.length]!,
    points: samples.filter(s => s.server === n).map(s => [s.t, s.state === 'running' ? s[field] ?? 0 : 0] as [number, number])
  }))
  const markers: Marker[] = [
    ...incident.faults.map(f => ({ t: 0, colour: '#d62728', tall: true, label: `0 s: the incident: ${faultText(f)}` })),
    ...play.actions.map(a => ({ t: a.t, colour: '#2ca02c', tall: true, label: `${formatAt(a.t)} trainee: ${a.action}${a.server === undefined ? '' : ` ${a.server}`}${a.team === undefined ? '' : ` (${a.team} team)`}` })),
    ...play.diagnoses.map(d => ({ t: d.t, colour: '#9467bd', tall: true, label: `${formatAt(d.t)} diagnosis: ${d.server} ${d.cause}` })),
    ...(play.recoveredMs === null ? [] : [{ t: play.recoveredMs, colour: '#000000', tall: true, label: `${formatAt(play.recoveredMs)} recovered: every queue empty, every MTA healthy` }])
  ]
  const chart = (title: string, yLabel: string, field: 'free' | 'depth'): string => lineChart({ title, yLabel, xMaxMs: xMax, series: series(field), markers })
  const row = (cells: string[]): string => `<tr>${cells.map(c => `<td>${esc(c)}</td>`).join('')}</tr>`
  const timeline = [
    ...incident.faults.map(f => ({ t: 0, who: 'incident', what: faultText(f) })),
    ...play.actions.map(a => ({ t: a.t, who: 'trainee', what: `${a.action}${a.server === undefined ? '' : ` ${a.server}`}${a.team === undefined ? '' : ` (asked the ${a.team} team)`}` })),
    ...play.diagnoses.map(d => ({ t: d.t, who: 'trainee', what: `diagnosed ${d.server}: ${d.cause}` })),
    ...(play.recoveredMs === null ? [] : [{ t: play.recoveredMs, who: 'site', what: 'recovered: every queue empty, every MTA healthy' }])
  ].sort((a, b) => a.t - b.t)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xcon game day debrief: ${esc(incident.name)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:20px;max-width:1100px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:22px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:3px 10px 3px 0;text-align:left;vertical-align:top}#score{font-size:28px;font-weight:bold}</style></head><body>
<h1>Game day debrief: ${esc(incident.name)} (${incident.level})</h1>
<p>The symptom reported: <em>${esc(incident.symptom)}</em>.</p>
<p id="score">Score: <span class="score">${debrief.score}</span> / 100</p>
<h2>What happened</h2>
<p id="explanation">${esc(incident.explanation)}</p>
<h2>Timeline</h2>
<table id="timeline"><tr><th>time</th><th>who</th><th>what</th></tr>${timeline.map(e => row([formatAt(e.t), e.who, e.what])).join('')}</table>
<h2>The site</h2>
${chart('Free control blocks per MTA (green: trainee actions, purple: diagnoses, black: recovery)', 'free control blocks', 'free')}
${chart('Queue depth per MTA', 'messages queued', 'depth')}
<h2>The score</h2>
<table id="parts"><tr><th>part</th><th>points</th><th>why</th></tr>${debrief.parts.map(p => row([p.part, `${p.points} / ${p.of}`, p.text])).join('')}</table>
<h2>Findings</h2>
${debrief.findings.length === 0 ? '<p id="findings">None: every action was needed.</p>' : `<table id="findings"><tr><th>code</th><th>finding</th></tr>${debrief.findings.map(f => row([f.code, f.text])).join('')}</table>`}
<h2>The expert response</h2>
<ol id="expert">${incident.expert.map(s => `<li>${esc(s.do === 'ask' ? `ask the ${s.team} team` : `npx xcon ${s.do} ${s.servers.join(' ')}`)}: ${esc(s.why)}</li>`).join('')}</ol>
<p>On this site it takes about ${Math.round(play.expertMs / 1000)} s. Messages lost: ${debrief.lost}; duplicated: ${debrief.duplicated}.</p>
</body></html>
`
}
