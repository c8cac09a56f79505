/** An error for the person at the terminal: printed as one line, exit code 2 for usage, 1 otherwise. */
export class CliError extends Error {
  constructor (message: string, readonly exitCode = 1) {
    super(message)
  }
}
