import { describe, expect, it } from 'vitest'
import { CATALOGUE, CAUSES, DEFAULT_TOPOLOGY_YAML, LEVELS, UnknownIncidentError, debriefOf, drawIncident, parseTopology, type Play } from '@xcon/core'

const site = parseTopology(DEFAULT_TOPOLOGY_YAML, 'default')
const play = (over: Partial<Play>): Play => ({
  incident: drawIncident(site, 1, { name: 'q260167' }), durationMs: 120_000, limitMs: 600_000, actions: [], diagnoses: [],
  briefedMs: 0, recoveredMs: null, lost: 0, duplicated: 0, delayMessageMinutes: 0, delayAtBriefing: 0, expertMs: 20_000, timeScale: 600, ...over
})

describe('the game day catalogue', () => {
  it('has the leak and its look-alikes, each at a level, and every one can happen on the default site', () => {
    expect(CATALOGUE.map(e => e.name)).toEqual(expect.arrayContaining(['q260167', 'paused', 'one-way-partition', 'disk-full', 'sp4-holds', 'slow-link']))
    expect(CATALOGUE.some(e => e.level === 'hard')).toBe(true)
    for (const e of CATALOGUE) expect(LEVELS).toContain(e.level)
    // sp4-holds needs a site whose peers all run SP4: not the default one.
    for (const e of CATALOGUE.filter(e => e.name !== 'sp4-holds')) {
      const i = drawIncident(site, 7, { name: e.name })
      expect(i.faults.length).toBeGreaterThan(0)
      for (const c of i.causes) expect(CAUSES).toContain(c.cause)
      // The symptom is in users' words: it never names the cause.
      expect(i.symptom).not.toMatch(/leak|control block|9156|paus|partition|disk|latency|slow link|crash/i)
    }
  })

  it('draws the same incident for the same seed, and q260167 on the default site kills SRV-D and leaks SRV-A..C', () => {
    for (const seed of [1, 2, 3, 99]) expect(drawIncident(site, seed)).toEqual(drawIncident(site, seed))
    const q = drawIncident(site, 5, { name: 'q260167' })
    expect(q.faults).toEqual([{ kind: 'kill', server: 'SRV-D' }])
    expect(q.causes).toEqual([{ server: 'SRV-D', cause: 'peer-down' }, ...['SRV-A', 'SRV-B', 'SRV-C'].map(server => ({ server, cause: 'leak' }))])
    expect(q.expert.map(s => s.do)).toEqual(['start', 'restart'])
    for (const seed of [1, 2, 3, 4]) expect(drawIncident(site, seed, { level: 'hard' }).faults).toHaveLength(2)
  })

  it('names what it lacks: an unknown incident, or one the site cannot show', () => {
    expect(() => drawIncident(site, 1, { name: 'meteor' })).toThrow(UnknownIncidentError)
    const sp4 = parseTopology('sites: { S: { secret: s, servers: [A, B] } }\ndefaults: { build: 2653 }\n', 'sp4.yaml')
    expect(() => drawIncident(sp4, 1, { name: 'q260167' })).toThrow(/cannot happen on this topology/)
  })
})

describe('the debrief', () => {
  it('scores the expert above the novice, and names the re-leak the novice caused', () => {
    const expert = debriefOf(play({
      diagnoses: [{ t: 8000, server: 'SRV-A', cause: 'leak' }, { t: 9000, server: 'SRV-D', cause: 'peer-down' }],
      actions: [{ t: 10_000, action: 'start', server: 'SRV-D' }, { t: 12_000, action: 'restart', server: 'SRV-A' }, { t: 12_000, action: 'restart', server: 'SRV-B' }, { t: 12_000, action: 'restart', server: 'SRV-C' }],
      recoveredMs: 18_000, durationMs: 30_000, delayMessageMinutes: 0.2
    }))
    const novice = debriefOf(play({
      actions: [{ t: 5000, action: 'restart', server: 'SRV-A' }, { t: 5000, action: 'restart', server: 'SRV-B' }, { t: 5000, action: 'restart', server: 'SRV-C' }],
      recoveredMs: null, durationMs: 600_000, delayMessageMinutes: 40
    }))
    expect(expert.score).toBeGreaterThan(novice.score)
    expect(expert.findings).toEqual([])
    expect(expert.recovered).toBe(true)
    expect(novice.findings.filter(f => f.code === 'restart-before-peer')).toHaveLength(3)
    expect(novice.findings.find(f => f.code === 'restart-before-peer')!.text).toMatch(/while SRV-D was still down: .* leaked its control blocks again/)
    expect(expert.parts.map(p => p.of).reduce((a, b) => a + b, 0)).toBe(100)
    for (const p of [...expert.parts, ...novice.parts]) expect(p.text).toMatch(/\.$/)
  })

  it('calls a restart of a healthy server, or of one whose trouble is the network, unnecessary', () => {
    const partition = drawIncident(site, 3, { name: 'one-way-partition' })
    const from = partition.causes[0]!.server
    const healthy = ['SRV-A', 'SRV-B', 'SRV-C', 'SRV-D'].find(n => !partition.causes.some(c => c.server === n))!
    const d = debriefOf(play({ incident: partition, actions: [{ t: 1000, action: 'restart', server: from }, { t: 2000, action: 'restart', server: healthy }] }))
    expect(d.findings.map(f => f.code)).toEqual(expect.arrayContaining(['restart-not-the-fix', 'restart-healthy', 'no-correct-diagnosis', 'not-recovered']))
    expect(d.parts.find(p => p.part === 'actions')!.points).toBe(0)
  })
})
