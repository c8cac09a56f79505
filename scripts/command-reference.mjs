// Prints docs/commands.md from the commander definitions (npm run docs writes it there).
import { buildProgram, commandReference } from '@xcon/cli'

process.stdout.write(commandReference(buildProgram(() => {}, () => {})))
