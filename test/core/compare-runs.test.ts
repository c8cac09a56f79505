import { describe, expect, it } from 'vitest'
import { compareRuns, type CheckResult, type HistoryRecord } from '@xcon/core'

const result = (stopOk: boolean): CheckResult => ({
  verdict: 'valid',
  exitCode: 0,
  findings: [
    { check: 'delivery', subject: 'every message', ok: true, detail: '' },
    { check: 'stop', subject: 'SRV-A (build 2650)', ok: stopOk, detail: '' },
    { check: 'drain', subject: 'SRV-A after its restart at 40.1 s', ok: true, detail: '' },
    { check: 'submissions', subject: 'refused at submission', ok: null, detail: '' }
  ],
  counts: { submitted: 1, recipients: 1, delivered: 1, ndr: 0, lost: 0, duplicated: 0, pending: 0 },
  stops: {}
})
const exhausted = (t: number): HistoryRecord => ({ t, type: 'event', server: 'SRV-A', eventId: 9156, text: '' })

describe('compareRuns (scenario run --compare-sim)', () => {
  it('agrees when the findings match and the first 9156 is within two open intervals', () => {
    // 26 s against 28 s at timeScale 600: two open intervals are 2 s.
    const c = compareRuns({ result: result(true), history: [exhausted(26_000)] }, { result: { ...result(true), findings: result(true).findings.filter(f => f.check !== 'submissions') }, history: [exhausted(28_000)] }, () => 1000)
    expect(c.agree).toBe(true)
    expect(c.rows.find(r => r.what === 'drain SRV-A')).toMatchObject({ processes: 'ok', simulation: 'ok', agree: true })
    expect(c.rows.find(r => r.what === 'first 9156 SRV-A')).toMatchObject({ processes: '26.0 s', simulation: '28.0 s', agree: true })
  })

  it('differs on a finding that does not match, and on a first 9156 outside 20 % and two open intervals', () => {
    const c = compareRuns({ result: result(true), history: [exhausted(26_000)] }, { result: result(false), history: [exhausted(40_000)] }, () => 1000)
    expect(c.agree).toBe(false)
    expect(c.rows.find(r => r.what === 'stop SRV-A')!.agree).toBe(false)
    expect(c.rows.find(r => r.what === 'first 9156 SRV-A')!.agree).toBe(false)
    const none = compareRuns({ result: result(true), history: [exhausted(26_000)] }, { result: result(true), history: [] }, () => 1000)
    expect(none.rows.find(r => r.what === 'first 9156 SRV-A')).toMatchObject({ simulation: 'none', agree: false })
  })
})
