import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_TOPOLOGY_YAML } from '@xcon/core'
import { TestSite, closeAllSites, waitFor } from '../support/site-harness.js'

afterEach(closeAllSites)

// The README's "Watch Q260167 happen" and "The workaround" blocks, in order, on the default site.
describe('the README workaround, step by step', () => {
  it('kill SRV-D, 9156 on the SP3 servers, start SRV-D, restart SRV-A..C: control blocks back, queues drain, no new 9156', async () => {
    const t = await TestSite.start(DEFAULT_TOPOLOGY_YAML)
    await t.xcon('kill', 'SRV-D')
    await waitFor('a 9156 on an SP3 server', () => ['SRV-A', 'SRV-B', 'SRV-C'].some(n => t.logs(n, 9156).length > 0), 90_000, 500)
    await t.xcon('start', 'SRV-D')
    await t.xcon('restart', 'SRV-A', 'SRV-B', 'SRV-C')
    const restartedAt = Date.now()
    // Every queue drains to 0 at some moment after the restart (light traffic keeps adding mail).
    for (const n of ['SRV-A', 'SRV-B', 'SRV-C']) {
      await waitFor(`${n}'s queues drained`, async () => (await t.status(n)).queues.every((q: { depth: number }) => q.depth <= 2), 60_000, 250)
    }
    await new Promise(resolve => setTimeout(resolve, 5000))
    for (const n of ['SRV-A', 'SRV-B', 'SRV-C']) {
      const s = await t.status(n)
      expect(s.controlBlocks.free).toBeGreaterThanOrEqual(5)
      expect(s.controlBlocks.leaked).toBe(0)
      expect(t.logs(n, 9156).filter(r => Date.parse(r.time) > restartedAt)).toEqual([])
    }
    // The site's log stream shows cause and effect: the CLI's kill, then the leak, then 9156, then the recovery.
    const story = (await t.xcon('logs', '--server', 'SRV-D,SRV-A', '--event', 'action,leak,9156', '--json')).trim().split('\n').map(l => JSON.parse(l) as Record<string, any>)
    const firstOf = (p: (r: Record<string, any>) => boolean): number => story.findIndex(p)
    const kill = firstOf(r => r.tag === 'action' && r.action === 'kill' && r.server === 'SRV-D')
    expect(kill).toBe(0)
    expect(firstOf(r => r.tag === 'leak' && r.server === 'SRV-A')).toBeGreaterThan(kill)
    expect(story.some(r => r.tag === 'action' && r.action === 'restart' && r.server === 'SRV-A')).toBe(true)
    expect(story.every(r => r.server === 'SRV-A' || r.server === 'SRV-D')).toBe(true)
    const times = story.map(r => Date.parse(r.time))
    expect([...times].sort((a, b) => a - b)).toEqual(times)
    // The readable form shows a 9156 once and folds its repeats; how many there were depends on timing.
    const json = t.logs('SRV-A', 9156).length
    const pretty = await t.xcon('logs', '--server', 'SRV-A', '--event', '9156')
    const full = pretty.split('\n').filter(l => l.includes('A resource limit has been reached')).length
    expect(full).toBeGreaterThanOrEqual(json === 0 ? 0 : 1)
    expect(full).toBeLessThanOrEqual(json)
    expect(pretty).not.toMatch(/×1 more/)
    if (full < json - 1) expect(pretty).toMatch(/SRV-A\s+9156\s+Resource\s+×\d+ more in \d+\.\d s: "A resource limit has been reached/)
  })

  it('says so when xcon down finds the site already down', async () => {
    const t = await TestSite.start(DEFAULT_TOPOLOGY_YAML)
    expect(await t.xcon('down')).toContain('closed down SRV-A, SRV-B, SRV-C, SRV-D')
    expect(await t.xcon('down')).toContain('nothing to close down: SRV-A, SRV-B, SRV-C, SRV-D are already down')
  })
})
