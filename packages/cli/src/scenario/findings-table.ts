import { findingResult, type CheckResult } from '@xcon/core'

/** The checker's findings as a short fixed-width table for the terminal. */
export function renderFindings (result: CheckResult): string {
  return renderColumns([['CHECK', 'SUBJECT', 'RESULT', 'DETAIL'], ...result.findings.map(f => [f.check, f.subject, findingResult(f), f.detail])])
}

/** Rows as fixed-width columns two spaces apart; the last column runs free. */
export function renderColumns (rows: string[][]): string {
  const last = (rows[0]?.length ?? 1) - 1
  const widths = Array.from({ length: last }, (_, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), 0))
  return rows.map(r => [...r.slice(0, last).map((c, i) => c.padEnd(widths[i]!)), r[last]].join('  ').trimEnd()).join('\n')
}
