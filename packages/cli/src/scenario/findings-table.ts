import { findingResult, type CheckResult } from '@xcon/core'

/** The checker's findings as a short fixed-width table for the terminal. */
export function renderFindings (result: CheckResult): string {
  const rows = [['CHECK', 'SUBJECT', 'RESULT', 'DETAIL'], ...result.findings.map(f => [f.check, f.subject, findingResult(f), f.detail])]
  const widths = [0, 1, 2].map(i => Math.max(...rows.map(r => r[i]!.length)))
  return rows.map(r => [...r.slice(0, 3).map((c, i) => c.padEnd(widths[i]!)), r[3]].join('  ')).join('\n')
}
