import { findingResult, type CheckResult } from '@xcon/core'

/** More passed findings of one check than this (one per MTA of a large site) are one row of the terminal's table; results.json keeps each. */
export const FOLD_PASSED_OVER = 20

/**
 * The checker's findings as a short fixed-width table for the terminal. A month of nightly
 * restarts makes a hundred passed drain findings: those become one row with their count and
 * their range, while every finding that failed or is unknown keeps its own row.
 */
export function renderFindings (result: CheckResult): string {
  const rows: string[][] = []
  const checks = [...new Set(result.findings.map(f => f.check))]
  for (const check of checks) {
    const all = result.findings.filter(f => f.check === check)
    const passed = all.filter(f => f.ok === true)
    const folded = passed.length > FOLD_PASSED_OVER
    for (const f of all) if (!folded || f.ok !== true) rows.push([f.check, f.subject, findingResult(f), f.detail])
    if (folded) rows.push([check, `${passed.length} findings`, 'ok', `each ok, from "${passed[0]!.subject}: ${passed[0]!.detail}" to "${passed.at(-1)!.subject}: ${passed.at(-1)!.detail}"; results.json and report.html list each`])
  }
  return renderColumns([['CHECK', 'SUBJECT', 'RESULT', 'DETAIL'], ...rows])
}

/** Rows as fixed-width columns two spaces apart; the last column runs free. */
export function renderColumns (rows: string[][]): string {
  const last = (rows[0]?.length ?? 1) - 1
  const widths = Array.from({ length: last }, (_, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), 0))
  return rows.map(r => [...r.slice(0, last).map((c, i) => c.padEnd(widths[i]!)), r[last]].join('  ').trimEnd()).join('\n')
}
