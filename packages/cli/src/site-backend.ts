import type { MtaStatusDocument } from '@xcon/core'
import type { SubmitAnswer } from './admin-client.js'
import type { ProcessState } from './processes.js'

/** What the commands need of a running site, whichever way its MTAs run. */
export interface SiteBackend {
  readonly kind: 'local' | 'docker'
  /** Server names (SRV-A …), in topology order. */
  readonly names: string[]
  /** Where the CLI records what it did (kill, start, …) as log lines of the site's stream. */
  readonly actionLogFile: string
  /** Which site this is, for the first line of `status` and its JSON. */
  readonly label: string
  describe: () => Record<string, unknown>
  /** The canonical server name for what the user typed; throws CliError listing the known ones. */
  resolve: (name: string) => string
  siteOf: (name: string) => string
  processState: (name: string) => ProcessState | Promise<ProcessState>
  start: (name: string) => Promise<void>
  waitReady: (name: string, timeoutMs?: number) => Promise<void>
  kill: (name: string) => Promise<void>
  stop: (name: string) => Promise<void>
  restart: (name: string) => Promise<void>
  pause: (name: string) => Promise<void>
  resume: (name: string) => Promise<void>
  fetchStatus: (name: string, timeoutMs?: number) => Promise<MtaStatusDocument | undefined>
  /** Where Prometheus can scrape the MTA (GET /metrics on its admin port), or null where no port is published to this host. */
  metricsUrl: (name: string) => string | null | Promise<string | null>
  submit: (name: string, body: Record<string, unknown>) => Promise<string[]>
  submitMail: (name: string, body: Record<string, unknown>) => Promise<SubmitAnswer>
}
