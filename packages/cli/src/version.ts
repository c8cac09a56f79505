import { createRequire } from 'node:module'

/** The package's version (package.json), the one number the CLI and the link API report. */
export const XCON_VERSION_NUMBER = (createRequire(import.meta.url)('../package.json') as { version: string }).version

/** What `xcon --version` prints: xcon's version, what it emulates, and the Node it runs on. */
export const XCON_VERSION = `xcon ${XCON_VERSION_NUMBER} (Exchange Server 5.5 MTA builds 1960 to 2653; Node ${process.version})`
