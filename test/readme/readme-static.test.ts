import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { CommanderError, type Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { buildProgram } from '@xcon/cli'
import { README, ROOT, checkedBy, readmeBlocks, xconCommands } from './readme-blocks.js'

/** The blocks readme-tutorial.test.ts runs, in order; `tests` is `npm test` itself. */
const RUN = ['setup', 'bug', 'workaround', 'sp4', 'tests']

class Parsed extends Error {}

/** Parses one command line as xcon would, and stops before its action: the error commander gives, or ''. */
async function parse (line: string): Promise<string> {
  const program = buildProgram(() => {}, () => {})
  let err = ''
  const quiet = (c: Command): void => {
    c.configureOutput({ writeOut: () => {}, writeErr: s => { err += s } })
    c.commands.forEach(quiet)
  }
  quiet(program)
  program.hook('preAction', () => { throw new Parsed() })
  const words = [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map(m => m[1] ?? m[2] ?? m[3]!).slice(2)
  try {
    await program.parseAsync(words, { from: 'user' })
    return ''
  } catch (e) {
    if (e instanceof Parsed) return ''
    // --help, or a bare `npx xcon --stack NAME` that shows the commands: typed as printed, both work.
    if (e instanceof CommanderError && e.exitCode === 0) return ''
    if (e instanceof CommanderError && e.code === 'commander.help') return ''
    return err === '' ? String(e) : err.trim()
  }
}

describe('README.md', () => {
  it('is a tutorial of at most about 250 lines', () => {
    expect(README.split('\n').length).toBeLessThanOrEqual(250)
  })

  it('marks every command block with the test that runs it, in the order the tutorial runs them', () => {
    const blocks = readmeBlocks()
    expect(blocks.filter(b => b.name === undefined).map(b => `README.md:${b.line}`)).toEqual([])
    expect(blocks.map(b => b.name)).toEqual(RUN)
  })

  it('names, for each further capability, test files that exist', () => {
    const files = checkedBy()
    expect(files.length).toBeGreaterThanOrEqual(8)
    expect(files.filter(f => !existsSync(resolve(ROOT, f)))).toEqual([])
  })

  it('asks the reader to type only commands and flags that xcon has', async () => {
    const commands = xconCommands()
    expect(commands.length).toBeGreaterThan(15)
    const wrong: string[] = []
    for (const c of commands) {
      const e = await parse(c)
      if (e !== '') wrong.push(`${c}: ${e}`)
    }
    expect(wrong).toEqual([])
    // And the check can fail: a misspelt flag, a missing required one, an unknown command.
    expect(await parse('npx xcon up --bulid 2650')).toMatch(/unknown option '--bulid'/)
    expect(await parse('npx xcon send --from SRV-A')).toMatch(/required option '--to <address>' not specified/)
    expect(await parse('npx xcon explode')).toMatch(/unknown command 'explode'/)
  })

  it('links only to files that exist', () => {
    const targets = [...README.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)].map(m => m[1]!).filter(t => !t.startsWith('http'))
    expect(targets.length).toBeGreaterThan(5)
    expect(targets.filter(t => !existsSync(resolve(ROOT, t)))).toEqual([])
  })
})
