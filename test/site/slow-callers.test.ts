import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { silentCaller, type SilentCaller } from '../support/raw-caller.js'
import { TestSite, closeAllSites, countByMtsId, siteYaml, waitFor } from '../support/site-harness.js'

const stoppers: Array<() => void> = []
afterEach(async () => {
  for (const stop of stoppers.splice(0)) stop()
  await closeAllSites()
})

// Pre-SP4, so that every failed association SRV-B sees could cost it a control block.
const SITE = siteYaml(['SRV-A', 'SRV-B'], 'build: 2650, timeScale: 600, controlBlocks: 8, traffic: off')
const BIND_TIMEOUT_MS = 3000

/**
 * `n` callers that keep `n` places: each opens a connection (`make`), and opens another the moment
 * the MTA ends it, until stopped. Bounded: at most 500 connections in all.
 */
function holdPlaces (n: number, make: () => { ended: Promise<unknown>, end: () => void }): { opened: () => number } {
  let opened = 0
  let stopped = false
  const live = new Set<() => void>()
  const keep = (): void => {
    if (stopped || opened >= 500) return
    opened++
    const c = make()
    live.add(c.end)
    void c.ended.then(() => { live.delete(c.end); keep() })
  }
  for (let i = 0; i < n; i++) keep()
  stoppers.push(() => { stopped = true; for (const end of live) end() })
  return { opened: () => opened }
}

/** A stranger that upgrades to a WebSocket on the association path and never binds. */
function slowCaller (port: number): { ended: Promise<unknown>, end: () => void } {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/xcon/association`)
  ws.on('error', () => undefined)
  return { ended: new Promise(resolve => ws.once('close', resolve)), end: () => ws.terminate() }
}

function rawCaller (port: number, upgrade: boolean): { ended: Promise<unknown>, end: () => void, caller: SilentCaller } {
  const caller = silentCaller(port, upgrade)
  return { ended: caller.closed, end: () => caller.socket.destroy(), caller }
}

/** SRV-B's 9318 lines (a bind to SRV-A failed) since `since`. */
function bindFailures (t: TestSite, since: number): Array<Record<string, any>> {
  return t.logs('SRV-B', 9318).filter(r => Date.parse(r.time as string) >= since)
}

describe('callers that never bind', () => {
  it('cannot shut a real peer out: three that hold every unbound place give way to it, and its mail arrives within a few bind timeouts, once', async () => {
    const t = await TestSite.start(SITE)
    const port = t.site.server('SRV-A').port
    // floor((8 - 1) / 2) = 3 places for callers that have not bound, all three held, and held again at once.
    const strangers = holdPlaces(3, () => slowCaller(port))
    await waitFor('three strangers binding on SRV-A', async () => (await t.status('SRV-A')).inboundUnbound === 3)
    // Past the bind grace (1 s), the oldest of them may be displaced.
    await new Promise(resolve => setTimeout(resolve, 1500))
    const since = Date.now()
    const first = await t.send('SRV-B', 'user1@SRV-A', 20, 'while strangers wait')
    await waitFor('20 on SRV-A', async () => (await t.deliveries('SRV-A')).length === 20, 3 * BIND_TIMEOUT_MS)
    // Again, a bind timeout later, when the strangers have been closed and have come back.
    await new Promise(resolve => setTimeout(resolve, BIND_TIMEOUT_MS + 500))
    const second = await t.send('SRV-B', 'user1@SRV-A', 20, 'still waiting')
    await waitFor('40 on SRV-A', async () => (await t.deliveries('SRV-A')).length === 40, 3 * BIND_TIMEOUT_MS)

    expect(countByMtsId(await t.deliveries('SRV-A'))).toEqual(new Map([...first, ...second].map(id => [id, 1])))
    expect(bindFailures(t, since).filter(r => String(r.msg).includes('4429'))).toEqual([])
    expect(t.logs('SRV-A').some(r => /its control block went to a newer caller/.test(String(r.msg)))).toBe(true)
    expect(strangers.opened()).toBeGreaterThan(3)
    // The strangers cost no control block: displaced or timed out, they are unauthenticated.
    const a = await t.status('SRV-A')
    expect(a.controlBlocks.leaked).toBe(0)
    expect(a.state).toBe('running')
  })

  it('do not keep a place at the connection limit from the site\'s own MTAs, which share their address on loopback', async () => {
    const t = await TestSite.start(SITE, { env: { 'SRV-A': { XCON_MAX_CONNECTIONS_PER_ADDRESS: '20' } } })
    const port = t.site.server('SRV-A').port
    // Twenty silent TCP connections from 127.0.0.1, SRV-B's address too: every place there is.
    holdPlaces(20, () => rawCaller(port, false))
    await new Promise(resolve => setTimeout(resolve, 1500))
    const since = Date.now()
    const ids = await t.send('SRV-B', 'user1@SRV-A', 10, 'past the connection limit')
    await waitFor('10 on SRV-A', async () => (await t.deliveries('SRV-A')).length === 10, 3 * BIND_TIMEOUT_MS)
    expect(countByMtsId(await t.deliveries('SRV-A'))).toEqual(new Map(ids.map(id => [id, 1])))
    expect(bindFailures(t, since)).toEqual([])
    expect(t.logs('SRV-A').some(r => /no association bound on it within 1000 ms/.test(String(r.msg)))).toBe(true)
  })
})

describe('a refused caller', () => {
  it('is ended soon after its close frame, even if it never answers the close', async () => {
    // One place for callers that have not bound, and a grace no test outlives: every newcomer is refused with 4429.
    const t = await TestSite.start(SITE, { only: ['SRV-A'], env: { 'SRV-A': { XCON_MAX_UNBOUND: '1', XCON_BIND_GRACE_MS: '600000', XCON_BIND_TIMEOUT_MS: '60000' } } })
    const port = t.site.server('SRV-A').port
    const holder = slowCaller(port)
    stoppers.push(holder.end)
    await waitFor('the one place taken', async () => (await t.status('SRV-A')).inboundUnbound === 1)

    const refused = Array.from({ length: 20 }, () => silentCaller(port))
    // ws would wait 30 s for the answer to a close; the MTA does not.
    const heldMs = await Promise.all(refused.map(async c => await Promise.race([c.closed, new Promise<number>(resolve => setTimeout(() => resolve(Infinity), 10_000))])))
    expect(heldMs.every(ms => ms < 10_000)).toBe(true)
    for (const c of refused) {
      expect(c.received()).toMatch(/^HTTP\/1\.1 101/)
      // The close frame: opcode 8, then the code 4429 (0x114d) big-endian.
      expect(c.received()).toContain('\x88')
      expect(c.received()).toContain('\x11\x4d')
    }
    expect((await t.status('SRV-A')).state).toBe('running')
  })
})
