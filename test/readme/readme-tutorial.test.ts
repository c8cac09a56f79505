import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LocalSite } from '@xcon/cli'
import { countByMtsId, waitFor } from '../support/site-harness.js'
import { ROOT, block } from './readme-blocks.js'

/**
 * The README's tutorial, block by block, as typed: each line of each block runs in bash from the
 * clone, and what the text around it claims is checked. XCON_DATA points every command at a
 * temporary site, so a site of the user's own under .xcon is never touched.
 */
const data = mkdtempSync(join(tmpdir(), 'xcon-readme-'))
const env = { ...process.env, XCON_DATA: data, NO_COLOR: '1' }
const children: ChildProcess[] = []
/** Ctrl-C (or a kill) to the whole process group of a line, as a terminal sends it: bash, npx and xcon. */
const signalGroup = (c: ChildProcess, sig: NodeJS.Signals): void => { try { process.kill(-c.pid!, sig) } catch { /* gone */ } }
afterEach(async () => {
  for (const c of children.splice(0)) signalGroup(c, 'SIGKILL')
  const site = existsSync(join(data, 'site.json')) ? LocalSite.open(data) : undefined
  if (site !== undefined) for (const n of site.names) await site.kill(n).catch(() => undefined)
  rmSync(data, { recursive: true, force: true })
})

interface Ran { code: number | null, signal: NodeJS.Signals | null, out: string }

/** Starts one README line in bash; `until` ends it with SIGINT (as Ctrl-C would) once its output matches. */
function start (line: string): { child: ChildProcess, done: Promise<Ran>, output: () => string } {
  const child = spawn('bash', ['-c', line], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  children.push(child)
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
  const done = new Promise<Ran>(resolve => child.once('exit', (code, signal) => resolve({ code, signal, out })))
  return { child, done, output: () => out }
}

async function run (line: string): Promise<string> {
  const r = await start(line).done
  if (r.code !== 0) throw new Error(`${line} exited ${String(r.code)}:\n${r.out}`)
  return r.out
}

/** The rows of `xcon status`: server, build, state, free, capacity, leaked. */
function rows (table: string): Map<string, { build: string, state: string, free: number, capacity: number, leaked: number }> {
  const m = new Map<string, { build: string, state: string, free: number, capacity: number, leaked: number }>()
  for (const l of table.split('\n')) {
    const r = /^(SRV-\w)\s+CORP\s+(\d+)\s+(running(?: \(no CBs\))?)\s+(\d+)\/(\d+)\s+(\d+)/.exec(l)
    if (r !== null) m.set(r[1]!, { build: r[2]!, state: r[3]!, free: Number(r[4]), capacity: Number(r[5]), leaked: Number(r[6]) })
  }
  return m
}

const SP3 = ['SRV-A', 'SRV-B', 'SRV-C']
const site = (): LocalSite => LocalSite.open(data)
const logOf = (server: string): Array<Record<string, any>> =>
  readFileSync(site().server(server).logFile, 'utf8').trim().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, any>)
const first9156 = (server: string, after = 0): number | undefined => logOf(server).map(r => r.eventId === 9156 ? Date.parse(r.time) : NaN).find(t => t > after)

describe('the README tutorial, as typed', () => {
  it('set up, the bug on cue, the workaround and SP4 do what the text says', async () => {
    const figures: string[] = []
    // 1. Set up. `npm ci` is what made this test run; `npx xcon up` runs in the foreground.
    const [install, upLine] = block('setup')
    expect(install).toBe('npm ci')
    expect(existsSync(join(ROOT, 'node_modules/.bin/xcon'))).toBe(true)
    const up = start(upLine!)
    await waitFor('the site up, and the hint', () => up.output().includes('Site up: 4 MTAs') && up.output().includes('Try: npx xcon kill SRV-D'), 60_000)
    expect(up.output()).toMatch(/SRV-D\s+CORP\s+2653\s+running/)
    for (const s of SP3) expect(up.output()).toMatch(new RegExp(`${s}\\s+CORP\\s+2650\\s+running`))

    // 2. The bug on cue.
    const [statusLine, killLine, followLine] = block('bug')
    const before = rows(await run(statusLine!))
    expect([...before.keys()]).toEqual([...SP3, 'SRV-D'])
    for (const [name, r] of before) {
      expect(r.state).toBe('running')
      expect(r.capacity).toBe(8)
      // 7 of 8 once the listener has its block; at most one leaked, by a sibling not yet listening, and never on SP4.
      expect(r.free + r.leaked).toBeLessThanOrEqual(7)
      expect(r.leaked).toBeLessThanOrEqual(name === 'SRV-D' ? 0 : 1)
    }
    // Mail of our own, to count at the end: for the peer that dies and for a healthy one.
    const ours = [...JSON.parse(await run('npx xcon send --from SRV-A --to user1@SRV-D --to user2@SRV-B --count 3 --json')).mtsIds as string[]]
    expect(await run(killLine!)).toContain('SRV-D: down')
    const killedAt = Date.now()
    const follow = start(followLine!)
    await waitFor('a 9156 in the followed logs', () => /SRV-[ABC]\s+9156\s/.test(follow.output()), 120_000, 250)
    const firstAt = Math.min(...SP3.map(s => first9156(s) ?? Infinity))
    figures.push(`first 9156 ${((firstAt - killedAt) / 1000).toFixed(1)} s after the kill`)
    expect(firstAt - killedAt).toBeLessThanOrEqual(60_000)
    // "and the others follow"
    await waitFor('9156 on every SP3 server', () => SP3.every(s => first9156(s) !== undefined), 120_000, 500)
    figures.push(`last first-9156 ${((Math.max(...SP3.map(s => first9156(s)!)) - killedAt) / 1000).toFixed(1)} s after`)
    signalGroup(follow.child, 'SIGINT')
    const followed = await follow.done
    // Ctrl-C ends it as any Unix tool: xcon stops following, and npm's wrapper ends by the same signal.
    expect(followed.code === 0 || followed.signal === 'SIGINT').toBe(true)
    expect(followed.out).toMatch(/SRV-D\s+action\s+.*kill/)
    expect(followed.out).toMatch(/was not returned after the failed outbound association with SRV-D \(refused\); \d of 8 free, \d lost/)
    expect(followed.out).toContain('A resource limit has been reached while attempting to open an association. There are no free control blocks available for network type 5')
    expect(followed.out).not.toMatch(/×1 more/)
    // status: running (no CBs), 0/8, once every block has gone.
    await waitFor('every SP3 server at running (no CBs), 0/8', async () => {
      const r = rows(await run('npx xcon status'))
      return SP3.every(s => r.get(s)?.state === 'running (no CBs)' && r.get(s)?.free === 0)
    }, 60_000, 1000)

    // 3. The workaround.
    const [startLine, restartLine, statusAgain] = block('workaround')
    expect(await run(startLine!)).toContain('SRV-D: running')
    const startedAt = Date.now()
    // "start alone changes nothing": still no block, still 9156.
    await waitFor('a 9156 after SRV-D is back', () => SP3.some(s => first9156(s, startedAt) !== undefined), 20_000, 250)
    expect([...rows(await run('npx xcon status'))].filter(([n]) => SP3.includes(n)).every(([, r]) => r.free === 0)).toBe(true)
    const restarted = await run(restartLine!)
    for (const s of SP3) expect(restarted).toContain(`${s}: running`)
    const restartedAt = Date.now()
    expect(rows(await run(statusAgain!)).size).toBe(4)
    // Every queue drains, and our mail arrives once each.
    await waitFor('our mail delivered', async () => {
      const [b, d] = [await site().deliveries('SRV-B'), await site().deliveries('SRV-D')]
      return ours.every(id => b.some(x => x.mtsId === id) && d.some(x => x.mtsId === id))
    }, 60_000, 500)
    // Light traffic keeps adding mail: each queue is seen at 0 at some moment.
    const [listed, drained] = [new Set<string>(), new Set<string>()]
    await waitFor('each queue of each MTA at 0', async () => {
      for (const n of site().names) {
        for (const q of (await site().fetchStatus(n))?.queues ?? []) {
          listed.add(`${n}>${q.peer}`)
          if (q.depth === 0) drained.add(`${n}>${q.peer}`)
        }
      }
      return listed.size > 0 && [...listed].every(q => drained.has(q))
    }, 30_000, 200)
    await new Promise(resolve => setTimeout(resolve, 5000))
    const leaked: number[] = []
    for (const s of SP3) {
      const st = (await site().fetchStatus(s))!
      leaked.push(st.controlBlocks.leaked)
      expect(st.controlBlocks.leaked).toBeLessThanOrEqual(2)
      expect(st.controlBlocks.free + st.controlBlocks.inUse + st.controlBlocks.leaked).toBe(7)
      expect(first9156(s, restartedAt)).toBeUndefined()
    }
    figures.push(`leaked after the restart ${leaked.join('/')}`)
    for (const n of site().names) {
      for (const [id, count] of countByMtsId(await site().deliveries(n))) expect(count, `${id} on ${n}`).toBe(1)
    }
    // The log stream tells the story in time order: the kill, then leaks, then 9156, then the restart.
    const story = (await run('npx xcon logs --server SRV-D,SRV-A --event action,leak,9156 --json')).trim().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, any>)
    const kill = story.findIndex(r => r.tag === 'action' && r.action === 'kill' && r.server === 'SRV-D')
    expect(kill).toBeGreaterThanOrEqual(0)
    expect(story.findIndex(r => r.tag === 'leak' && r.server === 'SRV-A')).toBeGreaterThan(kill)
    expect(story.some(r => r.tag === 'action' && r.action === 'restart' && r.server === 'SRV-A')).toBe(true)
    const times = story.map(r => Date.parse(r.time))
    expect([...times].sort((a, b) => a - b)).toEqual(times)

    // 4. Compare SP4. `down` also ends the foreground `up` of step 1, as it would in the first terminal.
    const [down, upSp4, killAgain, sleep, logsLine, statusSp4] = block('sp4')
    expect(await run(down!)).toContain('closed its site down')
    const ended = await up.done
    expect(ended.code === 0 || ended.signal === 'SIGINT').toBe(true)
    expect(ended.out).toMatch(/ 9299  X\.400 Service/)
    expect(await run(upSp4!)).toContain('Site up: 4 MTAs')
    expect(await run(killAgain!)).toContain('SRV-D: down')
    expect(sleep).toBe('sleep 30')
    await run(sleep!)
    const logs = await run(logsLine!)
    expect(logs).toMatch(/SRV-A\s+9318\s/)
    expect(logs).not.toMatch(/SRV-A\s+(leak|9156)\s/)
    const sp4 = rows(await run(statusSp4!))
    for (const s of SP3) expect(sp4.get(s)).toMatchObject({ build: '2653', leaked: 0 })
    expect(await run('npx xcon down')).toContain('closed down SRV-A, SRV-B, SRV-C')

    expect(block('tests')).toEqual(['npm test'])
    process.stderr.write(`README tutorial: ${figures.join('; ')}\n`)
  }, 600_000)
})
