import { CommanderError } from 'commander'
import { CliError } from './cli-error.js'
import { buildProgram } from './program.js'

const out = (line: string): void => { process.stdout.write(`${line}\n`) }
// `xcon logs | head` closes the pipe early: stop quietly, as other Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0); throw err })

/** Runs one command line; resolves to the exit code (2 for a usage error, as commander's users expect). */
export async function run (argv: string[]): Promise<number> {
  let code = 0
  const program = buildProgram(out, c => { code = c })
  try {
    await program.parseAsync(argv, { from: 'user' })
    return code
  } catch (err) {
    // --help and --version are not errors; commander has already printed them.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2
    throw err
  }
}

run(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: Error) => {
  if (err instanceof CliError) {
    process.stderr.write(`xcon: ${err.message}\n`)
    process.exitCode = err.exitCode
  } else {
    process.stderr.write(`xcon: ${err.stack ?? err.message}\n`)
    process.exitCode = 1
  }
})
