import type { MtaStatusDocument, Topology } from '@xcon/core'
import type { SubmitAnswer } from './admin-client.js'

/** Whether an MTA's process (or container) runs, is stopped by SIGSTOP (or docker pause), or is gone. */
export type ProcessState = 'running' | 'paused' | 'down'

export interface LogsOptions {
  follow: boolean
  /** Canonical server names; undefined: every server. */
  servers?: string[] | undefined
  events?: string[] | undefined
  json: boolean
  colour: boolean
  /** Only lines written from now on (the dashboard's tail), not the site's whole history. */
  fromNow?: boolean
  /** Ends following when aborted; without it, following ends at Ctrl-C (SIGINT) or SIGTERM. */
  signal?: AbortSignal
}

/** The swarm node that runs a server's task, and Swarm's view of that node (ready, down …). */
export interface NodePlacement { node: string, nodeState: string }

/** Refusal of the node verbs where there are no nodes to fail. */
export const NODE_FAULTS_ON_STACKS = 'fail-node and restore-node work on a Swarm stack (--stack NAME) whose node was made by scripts/two-node-swarm.sh'

/** A local site's link proxies, for `status` (docs/links.md). */
export interface LinksStatus { api: string, port: number, proxies: number, state: string }

/**
 * What the commands need of a running site, whichever way its MTAs run: local processes
 * (local/local-site.ts), a compose project (docker/docker-site.ts) or a Swarm stack
 * (docker/stack-site.ts). A backend that cannot do something (partition a stack) refuses with
 * a CliError that says where it can be done, so no command asks which kind of site it has.
 */
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
  /** Closes every MTA down cleanly (9299); the lines say what was done. `volumes`: the containers' queues too. */
  down: (opts: { volumes: boolean }) => Promise<string[]>
  /** The site's logs and the CLI's actions in time order; with `follow`, until Ctrl-C. */
  logs: (opts: LogsOptions, out: (line: string) => void) => Promise<void>
  /** Cuts `server` off (from `from`, or every peer) as a black hole; a sentence of what was cut. */
  partition: (server: string, from: string[] | undefined) => Promise<string>
  /** Undoes partitions (of `server`, or all); a sentence of what was healed. */
  heal: (server: string | undefined) => Promise<string>
  /** The swarm node of a server's task (a stack); undefined where MTAs have no nodes. */
  nodeOf: (name: string) => Promise<NodePlacement | undefined>
  /**
   * Powers a swarm node off (`fail`) or on (`restore`, which then starts the MTAs placed there,
   * as a server's services start at boot); lines of what happened. `log` records each MTA's action.
   */
  nodeFault: (kind: 'fail' | 'restore', node: string, log: (action: string, server: string, detail?: string) => void) => Promise<string[]>
  /** The link proxies of a site started with --links; undefined elsewhere. */
  links: () => LinksStatus | undefined
  /** The site's topology where the CLI has it (a local site), for the dashboard's picture. */
  topology: () => Topology | undefined
}
