import { describe, expect, it } from 'vitest'
import type { CheckResult } from '@xcon/core'
import { FOLD_PASSED_OVER, renderFindings } from '@xcon/cli'

const result = (findings: CheckResult['findings']): CheckResult =>
  ({ verdict: 'valid', exitCode: 0, findings, counts: { submitted: 0, recipients: 0, delivered: 0, ndr: 0, lost: 0, duplicated: 0, pending: 0 }, stops: {} })

describe('the findings table', () => {
  it('folds a month of passed drain findings into one row with their count, and keeps each one that did not pass', () => {
    const drains = Array.from({ length: 120 }, (_, i) => ({ check: 'drain' as const, subject: `S0${i % 4 + 1} after its restart at ${Math.floor(i / 4) + 1} d`, ok: i === 7 ? false : true, detail: i === 7 ? 'its queues never emptied' : 'queues empty 30 m after the restart' }))
    const table = renderFindings(result([{ check: 'delivery', subject: 'every message', ok: true, detail: '10 delivered once' }, ...drains])).split('\n')
    expect(table).toHaveLength(4)
    expect(table[2]).toMatch(/^drain\s+S04 after its restart at 2 d\s+FAIL\s+its queues never emptied$/)
    expect(table[3]).toMatch(/^drain\s+119 findings\s+ok\s+each ok, from "S01 after its restart at 1 d: queues empty 30 m after the restart" to "S04 after its restart at 30 d: /)
  })

  it(`shows each finding of a check that has at most ${FOLD_PASSED_OVER} passed`, () => {
    const stops = Array.from({ length: FOLD_PASSED_OVER }, (_, i) => ({ check: 'stop' as const, subject: `S${i}`, ok: true, detail: 'never stopped reaching its healthy peers' }))
    expect(renderFindings(result(stops)).split('\n')).toHaveLength(FOLD_PASSED_OVER + 1)
  })
})
