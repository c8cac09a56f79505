import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, buildImage, dockerAvailable } from '../support/docker-harness.js'
import { XCON, waitFor } from '../support/site-harness.js'

const run = promisify(execFile)
const docker = dockerAvailable()
if (!docker.ok) process.stderr.write(`\n*** SKIPPING the game day on containers: ${docker.why} ***\n\n`)

// The same seed draws the same incident in containers as on processes, and the same response mends it.
describe.skipIf(!docker.ok)('xcon gameday --docker', () => {
  const data = mkdtempSync(join(tmpdir(), 'xcon-gameday-docker-'))
  const xcon = async (...args: string[]): Promise<string> => (await run(process.execPath, [XCON, ...args], { cwd: ROOT, timeout: 240_000 })).stdout
  beforeAll(async () => { process.stderr.write(`${await buildImage()}\n`) }, 600_000)
  afterAll(async () => {
    try { await xcon('gameday', 'end', '--docker', '--data', data) } catch { /* ended */ }
    rmSync(data, { recursive: true, force: true })
  }, 300_000)

  it('runs q260167 on a compose project of its own; the expert response recovers it, nothing is lost, and nothing is left behind', async () => {
    const briefing = JSON.parse(await xcon('gameday', 'start', '--docker', '--incident', 'q260167', '--seed', '260167', '--minutes', '4', '--data', data, '--json'))
    expect(briefing.symptom).toMatch(/^mail from SRV-\w to SRV-\w is stuck$/)
    const flags = (briefing.flags as string).split(' ')
    expect(flags.slice(0, 2)).toEqual(['--docker', '--file'])
    const reveal = JSON.parse(await xcon('gameday', 'reveal', '--json', '--docker', '--data', data))
    // The same incident as on processes for this seed (test/site/gameday.test.ts plays it there).
    expect(reveal.faults).toEqual([{ kind: 'kill', server: 'SRV-D' }])
    await xcon('gameday', 'diagnose', '--server', 'SRV-A', '--cause', 'leak', '--docker', '--data', data)
    for (const step of reveal.expert as Array<{ do: string, servers: string[] }>) await xcon(step.do, ...step.servers, ...flags)
    await waitFor('the site drained', async () => {
      const mtas = JSON.parse(await xcon('status', '--json', ...flags)).mtas as Array<{ state: string, queues: Array<{ depth: number }> }>
      return mtas.every(m => m.state === 'running' && m.queues.every(q => q.depth === 0))
    }, 90_000, 1000)
    const end = JSON.parse(await xcon('gameday', 'end', '--json', '--docker', '--data', data))
    expect(end).toMatchObject({ incident: 'q260167', recovered: true, lost: 0, duplicated: 0 })
    expect(end.findings.filter((f: { code: string }) => f.code.startsWith('restart-'))).toEqual([])
    const project = flags[flags.indexOf('--project') + 1]!
    expect(execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).trim()).toBe('')
    process.stderr.write(`game day q260167 seed 260167 on containers: score ${end.score as number}, recovered in ${end.recoverySeconds as number} s\n`)
  }, 600_000)
})
