/** A line series of a chart: points are [ms, value]. */
export interface Series { name: string, colour: string, points: Array<[number, number]> }
export interface Shade { from: number, to: number, label: string }
/** A tick on top of a chart; `tall` ticks run down the whole plot (the stop). */
export interface Marker { t: number, colour: string, label: string, tall?: boolean }

const esc = (s: string): string => s.replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

/**
 * A step-line chart as inline SVG: shaded fault periods behind, series as steps (values hold
 * until the next sample), event markers as ticks on top with a tooltip (<title>). No script.
 */
export function lineChart (opts: { title: string, yLabel: string, xMaxMs: number, series: Series[], shades?: Shade[], markers?: Marker[], width?: number, height?: number, yMax?: number, legend?: boolean }): string {
  const W = opts.width ?? 900
  const H = opts.height ?? 240
  const legend = opts.legend ?? true
  const pad = { l: 48, r: legend ? 150 : 12, t: 24, b: 30 }
  // A round axis: the smallest step of 1, 2 or 5 times a power of ten that needs at most 5 ticks.
  // A loop, not Math.max(...points): a month of samples is more arguments than a call may take.
  let top = Math.max(1, opts.yMax ?? 0)
  for (const s of opts.series) for (const p of s.points) if (p[1] > top) top = p[1]
  let yStep = 1
  for (let p = 1; top / yStep > 5; p *= 10) yStep = [1, 2, 5].map(m => m * p).find(st => top / st <= 5) ?? 10 * p
  const yMax = Math.ceil(top / yStep) * yStep
  const x = (t: number): number => pad.l + (t / Math.max(1, opts.xMaxMs)) * (W - pad.l - pad.r)
  const y = (v: number): number => H - pad.b - (v / yMax) * (H - pad.t - pad.b)
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(opts.title)}">`]
  parts.push(`<text x="${pad.l}" y="16" font-size="13" font-weight="bold">${esc(opts.title)}</text>`)
  for (const s of opts.shades ?? []) {
    parts.push(`<rect x="${x(s.from).toFixed(1)}" y="${pad.t}" width="${Math.max(1, x(s.to) - x(s.from)).toFixed(1)}" height="${H - pad.t - pad.b}" fill="#f4b400" opacity="0.18"><title>${esc(s.label)}</title></rect>`)
  }
  // Axes and grid.
  for (let v = 0; v <= yMax; v += yStep) {
    parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="10" text-anchor="end">${v}</text>`)
  }
  const tick = timeTick(opts.xMaxMs)
  for (let t = 0; t <= opts.xMaxMs; t += tick.ms) parts.push(`<text x="${x(t).toFixed(1)}" y="${H - 12}" font-size="10" text-anchor="middle">${Math.round(t / tick.unitMs)}${tick.unit}</text>`)
  parts.push(`<text x="12" y="${H / 2}" font-size="10" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">${esc(opts.yLabel)}</text>`)
  opts.series.forEach((s, i) => {
    if (s.points.length === 0) return
    let d = `M${x(s.points[0]![0]).toFixed(1)},${y(s.points[0]![1]).toFixed(1)}`
    for (let k = 1; k < s.points.length; k++) d += ` H${x(s.points[k]![0]).toFixed(1)} V${y(s.points[k]![1]).toFixed(1)}`
    parts.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="1.8"><title>${esc(s.name)}</title></path>`)
    if (legend) parts.push(`<rect x="${W - pad.r + 12}" y="${pad.t + i * 16}" width="10" height="10" fill="${s.colour}"/><text x="${W - pad.r + 26}" y="${pad.t + i * 16 + 9}" font-size="11">${esc(s.name)}</text>`)
  })
  for (const m of opts.markers ?? []) {
    parts.push(`<line x1="${x(m.t).toFixed(1)}" x2="${x(m.t).toFixed(1)}" y1="${pad.t}" y2="${m.tall === true ? H - pad.b : pad.t + 10}" stroke="${m.colour}" stroke-width="${m.tall === true ? 2.5 : 2}"${m.tall === true ? ' stroke-dasharray="6 3"' : ''}><title>${esc(m.label)}</title></line>`)
  }
  parts.push('</svg>')
  return parts.join('')
}

/** Ticks of the time axis: at most about 12, on a round step in seconds, minutes, hours or days (a month of timeScale 1 reads in days). */
function timeTick (xMaxMs: number): { ms: number, unit: string, unitMs: number } {
  const units = [{ unit: 's', unitMs: 1000, steps: [5, 10, 15, 30] }, { unit: 'm', unitMs: 60_000, steps: [1, 2, 5, 10, 15, 30] }, { unit: 'h', unitMs: 3_600_000, steps: [1, 2, 3, 6, 12] }, { unit: 'd', unitMs: 86_400_000, steps: [1, 2, 5, 7, 10, 14, 30, 60, 90, 180, 365] }]
  for (const u of units) for (const n of u.steps) if (xMaxMs / (n * u.unitMs) <= 12) return { ms: n * u.unitMs, unit: u.unit, unitMs: u.unitMs }
  return { ms: xMaxMs / 10, unit: 'd', unitMs: 86_400_000 }
}
