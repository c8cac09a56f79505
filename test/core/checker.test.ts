import { describe, expect, it } from 'vitest'
import { checkHistory, faultIntervals, type Expectations, type HistoryRecord } from '@xcon/core'

const run: HistoryRecord = { t: 0, type: 'run', name: 't', seed: 1, startedAt: '', durationMs: 10_000, servers: [{ name: 'SRV-A', site: 'CORP', build: 2650 }, { name: 'SRV-B', site: 'CORP', build: 2653 }, { name: 'SRV-C', site: 'CORP', build: 2653 }] }
const expect0: Expectations = { stops: {}, drainAfterRestart: true, connectorsFlow: true }
const submit = (t: number, mtsId: string, to: string): HistoryRecord => ({ t, type: 'submit', mtsId, from: 'SRV-A', to: [to] })
const deliver = (t: number, mtsId: string, server: string, mailbox = 'user1'): HistoryRecord => ({ t, type: 'deliver', server, mailbox, mtsId, kind: 'message' })
const end = (pending = 0): HistoryRecord => ({ t: 20_000, type: 'end', pending })
const good: HistoryRecord[] = [run, submit(10, 'm1', 'user1@SRV-B'), submit(20, 'm2', 'user1@SRV-C'), deliver(50, 'm1', 'SRV-B'), deliver(60, 'm2', 'SRV-C'), end()]

describe('history checker', () => {
  it('finds a history where every message arrived once valid (exit 0)', () => {
    const r = checkHistory(good, expect0)
    expect(r).toMatchObject({ verdict: 'valid', exitCode: 0, counts: { submitted: 2, delivered: 2, lost: 0, duplicated: 0 } })
  })

  it('shows submissions an MTA refused among the findings, without changing the verdict', () => {
    const refused: HistoryRecord = { t: 30, type: 'submit-failed', from: 'SRV-A', to: ['user1@SRV-B'], error: 'SRV-A is down: it cannot take a submission' }
    const r = checkHistory([...good.slice(0, -1), refused, end()], expect0)
    expect(r.verdict).toBe('valid')
    expect(r.findings.find(f => f.check === 'submissions')).toMatchObject({ subject: 'refused at submission', detail: expect.stringContaining('1 never accepted (1 on SRV-A)') })
  })

  it('finds a planted loss: invalid (exit 1), naming the message', () => {
    const r = checkHistory(good.filter(x => !(x.type === 'deliver' && x.mtsId === 'm2')), expect0)
    expect(r).toMatchObject({ verdict: 'invalid', exitCode: 1, counts: { lost: 1 } })
    expect(r.findings.find(f => f.check === 'delivery')).toMatchObject({ ok: false, detail: expect.stringContaining('missing: m2 to user1@SRV-C') })
  })

  it('finds a planted duplicate: invalid, naming the message and the count', () => {
    const r = checkHistory([...good.slice(0, -1), deliver(70, 'm1', 'SRV-B'), end()], expect0)
    expect(r).toMatchObject({ verdict: 'invalid', counts: { duplicated: 1 } })
    expect(r.findings.find(f => f.check === 'delivery')!.detail).toContain('duplicated: m1 to user1@SRV-B (2 times)')
  })

  it('counts a non-delivery report as an answer, not a loss', () => {
    const ndr: HistoryRecord = { t: 80, type: 'event', server: 'SRV-A', eventId: 290, mtsId: 'm2', recipients: ['user1@SRV-C'], text: '' }
    const r = checkHistory([...good.filter(x => !(x.type === 'deliver' && x.mtsId === 'm2')).slice(0, -1), ndr, end()], expect0)
    expect(r).toMatchObject({ verdict: 'valid', counts: { ndr: 1, lost: 0 } })
  })

  it('cannot decide on a history that never ended (interrupted, truncated): unknown', () => {
    expect(checkHistory([], expect0)).toMatchObject({ verdict: 'unknown', exitCode: 2 })
    const r = checkHistory(good.slice(0, -1), expect0)
    expect(r.verdict).toBe('unknown')
    expect(r.findings[0]).toMatchObject({ check: 'history', ok: null, detail: 'no "end" record: the run did not finish, so nothing can be concluded' })
    // A message not delivered yet is no loss in an unfinished run; a duplicate already seen is a violation.
    const unfinished = good.filter(x => x.type !== 'end' && !(x.type === 'deliver' && x.mtsId === 'm2'))
    expect(checkHistory(unfinished, { ...expect0, stops: { 'SRV-A': true } }).verdict).toBe('unknown')
    expect(checkHistory([...unfinished, deliver(70, 'm1', 'SRV-B')], expect0).verdict).toBe('invalid')
  })

  it('cannot decide while mail is still queued at the end: unknown (exit 2)', () => {
    const r = checkHistory([...good.filter(x => !(x.type === 'deliver' && x.mtsId === 'm2')).slice(0, -1), end(1)], expect0)
    expect(r).toMatchObject({ verdict: 'unknown', exitCode: 2 })
  })

  it('dates the Q260167 stop by the first 9156 toward a healthy peer, not toward one under a fault', () => {
    const h: HistoryRecord[] = [
      run,
      { t: 1000, type: 'fault', action: 'kill', targets: ['SRV-C'], source: 'f0' },
      { t: 2000, type: 'event', server: 'SRV-A', eventId: 9156, peer: 'SRV-C', direction: 'outbound', pool: 'site', text: '' },
      { t: 3000, type: 'event', server: 'SRV-A', eventId: 9156, peer: 'SRV-B', direction: 'outbound', pool: 'site', text: '' },
      { t: 5000, type: 'fault', action: 'restart', targets: ['SRV-A'], source: 'f1' },
      { t: 5800, type: 'sample', server: 'SRV-A', state: 'running', depth: 0 },
      end()
    ]
    const r = checkHistory(h, { ...expect0, stops: { 'SRV-A': true } })
    expect(r.stops['SRV-A']).toEqual({ at: 3000, peer: 'SRV-B', recoveredAt: 5000 })
    expect(r.findings.find(f => f.check === 'drain')).toMatchObject({ ok: true, detail: 'queues empty 0.8 s after the restart' })
    expect(r.verdict).toBe('valid')
    // The same history with the opposite expectation is invalid.
    expect(checkHistory(h, { ...expect0, stops: { 'SRV-A': false } }).verdict).toBe('invalid')
  })

  it('holds an SP4 MTA to no stop even when the scenario says nothing', () => {
    const h: HistoryRecord[] = [run, { t: 3000, type: 'event', server: 'SRV-B', eventId: 9156, peer: 'SRV-A', direction: 'outbound', pool: 'site', text: '' }, end()]
    const r = checkHistory(h, expect0)
    expect(r.findings.find(f => f.subject === 'SRV-B (build 2653)')).toMatchObject({ ok: false })
    expect(r.verdict).toBe('invalid')
  })

  it('merges overlapping faults: a partition that ends does not end a kill', () => {
    const spans = faultIntervals([
      { t: 1000, type: 'fault', action: 'kill', targets: ['SRV-C'], source: '' },
      { t: 2000, type: 'fault', action: 'partition', targets: ['SRV-B', 'SRV-C'], groups: [['SRV-B'], ['SRV-C']], source: '' },
      { t: 5000, type: 'fault', action: 'join', targets: ['SRV-B', 'SRV-C'], source: '' },
      { t: 6000, type: 'fault', action: 'start', targets: ['SRV-C'], source: '' },
      { t: 6400, type: 'event', server: 'SRV-C', eventId: 9298, text: '' },
      { t: 9000, type: 'end', pending: 0 }
    ])
    expect(spans.get('SRV-C')).toEqual([[1000, 6400]]) // down until its startup completes (9298), not until the start command
    expect(spans.get('SRV-B')).toEqual([[2000, 5000]])
  })

  it('keeps a flapping peer under its fault when the next kill comes before its startup completes', () => {
    const flap: HistoryRecord[] = [
      run,
      { t: 1000, type: 'fault', action: 'kill', targets: ['SRV-C'], source: 'flap 1/2' },
      { t: 4000, type: 'fault', action: 'start', targets: ['SRV-C'], source: 'flap 1/2' },
      { t: 4500, type: 'event', server: 'SRV-A', eventId: 9156, peer: 'SRV-C', direction: 'outbound', pool: 'site', text: '' },
      { t: 5000, type: 'fault', action: 'kill', targets: ['SRV-C'], source: 'flap 2/2' },
      { t: 8000, type: 'fault', action: 'start', targets: ['SRV-C'], source: 'flap 2/2' },
      { t: 9200, type: 'event', server: 'SRV-C', eventId: 9298, text: '' },
      end()
    ]
    expect(faultIntervals(flap).get('SRV-C')).toEqual([[1000, 9200]])
    expect(checkHistory(flap, { ...expect0, stops: { 'SRV-A': false } }).stops['SRV-A']!.at).toBeNull()
  })
})
