import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '@xcon/cli'
import { xcon as run } from '../support/run-xcon.js'

const dirs: string[] = []
const squatters: Server[] = []
afterEach(async () => {
  for (const s of squatters.splice(0)) await new Promise(resolve => s.close(resolve))
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const xcon = async (...args: string[]) => await run(args)

describe('xcon command errors', () => {
  it('names the file, the line and the problem of a broken topology, and starts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-cli-'))
    dirs.push(dir)
    const file = join(dir, 'broken.yaml')
    writeFileSync(file, 'sites:\n  CORP:\n    secret: x\n    servers: [SRV-A]\ndefaults: { build: 2651 }\n')
    const r = await xcon('up', '-d', '--topology', file, '--data', join(dir, 'site'))
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`xcon: ${file}:5: defaults.build: unknown Exchange 5.5 build "2651": use 1960 (RTM), 2232 (SP1), 2448 (SP2), 2650 (SP3), 2653 (SP4), a form like 5.5.2650.24, or sp0-sp4\n`)
  })

  it('says which port another process holds when an MTA cannot listen on it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-cli-'))
    dirs.push(dir)
    const port = await freePort()
    const squatter = createServer()
    squatters.push(squatter)
    await new Promise<void>(resolve => squatter.listen(port, '127.0.0.1', resolve))
    const file = join(dir, 'taken.yaml')
    writeFileSync(file, `sites:\n  LAB:\n    secret: x\n    servers: [M1, M2]\nservers:\n  M1: { port: ${port} }\n`)
    const r = await xcon('up', '-d', '--topology', file, '--data', join(dir, 'site'))
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain(`M1 exited during start-up (cannot listen on 127.0.0.1:${port}: the port is in use by another process); see ${join(dir, 'site', 'logs', 'M1.log')}`)
  })

  it('prints its version, and gives one default for --data wherever the help names it', async () => {
    const v = await xcon('--version')
    expect(v.code).toBe(0)
    expect(v.stdout).toMatch(/^xcon \d+\.\d+\.\d+ \(Exchange Server 5\.5 MTA builds 1960 to 2653; Node v\d+/)
    const help = (await xcon('--help')).stdout.replace(/\s+/g, ' ')
    expect(help).toContain('--data <dir> the local site\'s data directory (default .xcon, or XCON_DATA)')
    expect(help).toContain('local processes under --data DIR (default .xcon, or XCON_DATA)')
    expect(help).not.toContain('.xcon/site')
  })

  it('names the port the dashboard cannot have and how to choose another, without a stack trace', async () => {
    const port = await freePort()
    const squatter = createServer()
    squatters.push(squatter)
    await new Promise<void>(resolve => squatter.listen(port, '127.0.0.1', resolve))
    const dir = mkdtempSync(join(tmpdir(), 'xcon-cli-'))
    dirs.push(dir)
    // A site that exists but is down is enough: the dashboard shows it down.
    expect((await xcon('up', '-d', '--topology', 'examples/two-sites.yaml', '--data', join(dir, 'site'))).code).toBe(0)
    expect((await xcon('down', '--data', join(dir, 'site'))).code).toBe(0)
    const r = await xcon('dashboard', '--port', String(port), '--data', join(dir, 'site'))
    expect(r).toMatchObject({ code: 1, stderr: `xcon: port ${port} on 127.0.0.1 is taken by another program: choose another with --port, or leave it out for a free one\n` })
    // And status on that site, every MTA down, says how to start it.
    const st = await xcon('status', '--data', join(dir, 'site'))
    expect(st.stdout).toContain(`Every MTA is down: start the site with npx xcon --data ${join(dir, 'site')} up -d (or up, to follow its logs).`)
  })

  it('says which topology file it cannot find', async () => {
    const r = await xcon('up', '-d', '--topology', '/nonexistent/site.yaml', '--data', '/tmp/xcon-none')
    expect(r).toMatchObject({ code: 2, stderr: 'xcon: topology file not found: /nonexistent/site.yaml\n' })
  })

  it('rejects an unknown command or flag with a suggestion, and a missing site with a hint', async () => {
    const unknown = await xcon('explode')
    expect(unknown).toMatchObject({ code: 2, stderr: "xcon: unknown command 'explode'\n(npx xcon --help lists the commands; npx xcon COMMAND --help shows one)\n" })
    const typo = await xcon('up', '-d', '--bulid', '2650', '--data', '/tmp/xcon-no-such-site')
    expect(typo).toMatchObject({ code: 2, stderr: "xcon: unknown option '--bulid'\n(Did you mean --build?)\n(npx xcon --help lists the commands; npx xcon COMMAND --help shows one)\n" })
    const near = await xcon('staus')
    expect(near.stderr).toContain('(Did you mean status?)')
    const none = await xcon('status', '--data', '/tmp/xcon-no-such-site')
    expect(none).toMatchObject({ code: 1, stderr: 'xcon: no site under /tmp/xcon-no-such-site: start one with "npx xcon up" (or name its data directory with --data)\n' })
  })

  it('shows per-command help from the same definitions, and starts nothing', async () => {
    const help = await xcon('up', '--help')
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: xcon up \[options\]/)
    expect(help.stdout).toContain('--build <build>')
    expect(help.stdout).not.toContain('Site up')
    const logs = await xcon('help', 'logs')
    expect(logs.stdout).toContain('--event <ids>')
  })

  it('refuses --links on containers, saying what works there instead; partition on a local site without links says how to get them', async () => {
    const r = await xcon('up', '-d', '--links', '--docker')
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--links runs a proxy on every directed link of a local site')
    expect(r.stderr).toContain('xcon partition SERVER [--from PEER]')
    const dir = mkdtempSync(join(tmpdir(), 'xcon-cli-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'site.json'), JSON.stringify({ dataDir: dir, topologyFile: '', supervisorPid: null, startedAt: '', servers: { 'SRV-A': { name: 'SRV-A', site: 'CORP', pid: null, port: 1, adminHost: '127.0.0.1', adminPort: 2, logFile: '' } } }))
    const p = await xcon('partition', 'SRV-A', '--data', dir)
    expect(p.code).toBe(2)
    expect(p.stderr).toContain('start it with "npx xcon up --links"')
  })

  it('says that node faults need a Swarm stack, and how to name one', async () => {
    const r = await xcon('fail-node', 'node-7')
    expect(r).toMatchObject({ code: 2, stderr: 'xcon: fail-node and restore-node work on a Swarm stack (--stack NAME) whose node was made by scripts/two-node-swarm.sh: npx xcon --stack NAME fail-node node-7\n' })
  })

  it('rejects a bad duration for flap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-cli-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'site.json'), JSON.stringify({ dataDir: dir, topologyFile: '', supervisorPid: null, startedAt: '', servers: { 'SRV-A': { name: 'SRV-A', site: 'CORP', pid: null, port: 1, adminHost: '127.0.0.1', adminPort: 2, logFile: '' } } }))
    const r = await xcon('flap', 'SRV-A', '--down', 'soon', '--data', dir)
    expect(r).toMatchObject({ code: 2, stderr: 'xcon: --down: "soon" is not a duration (try 500ms, 5s, 2m, 6h, 30d)\n' })
  })
})
