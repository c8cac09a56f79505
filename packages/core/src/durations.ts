/** Milliseconds per unit of the one duration grammar of xcon: flags, scenario files and schedules. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * Reads `500ms`, `5s`, `2m`, `6h`, `30d` or a bare number of seconds into milliseconds;
 * undefined if it is not one. Days and hours are there because Q260167 is a bug of "an extended
 * period of time": Exchange retried a failed open every 600 s for 24 h.
 */
export function durationMs (v: unknown): number | undefined {
  let ms: number
  if (typeof v === 'number') {
    ms = v * 1000
  } else {
    if (typeof v !== 'string') return undefined
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim())
    if (m === null) return undefined
    ms = Number(m[1]) * UNITS[m[2] ?? 's']!
  }
  // 1e305 s is a number, but no time a run or a timer can reach.
  return ms >= 0 && ms <= Number.MAX_SAFE_INTEGER ? ms : undefined
}

/** How a duration is written, for messages: the examples every error shows. */
export const DURATION_EXAMPLES = '500ms, 5s, 2m, 6h, 30d'

/** A duration as people read it: `70 s`, `1 h 20 m`, `30 d 4 h` (the two largest units). */
export function formatDuration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
  const parts: string[] = []
  let rest = Math.round(ms / 1000)
  for (const [unit, secs] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / secs)
    rest -= n * secs
    if (n > 0 || parts.length > 0) parts.push(`${n} ${unit}`)
    if (parts.length === 2) break
  }
  return parts.filter(p => !p.startsWith('0 ')).join(' ')
}

/** A time in a run, for findings and reports: `26.0 s` in the first ten minutes, `29 d 2 h` after. */
export function formatAt (ms: number): string {
  return ms < 600_000 ? `${(ms / 1000).toFixed(1)} s` : formatDuration(ms)
}
