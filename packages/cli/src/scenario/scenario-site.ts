import type { MtaStatusDocument } from '@xcon/core'
import type { FaultStep } from '@xcon/core'
import type { DeliveryRecord } from '../site/admin-client.js'
import type { LinkApiChange } from '../links/link-api.js'
import type { ProcessState } from '../site/site-backend.js'

/**
 * What the scenario runner needs of a site, whichever backend runs it: local processes behind
 * per-link proxies, or the containers of a compose project with packet filters on their links.
 */
export interface ScenarioSite {
  readonly backend: 'local' | 'docker' | 'stack'
  /** Where the site lives, for the user: a data directory or a compose project. */
  readonly where: string
  /** Server names, in topology order. */
  readonly names: string[]
  /** Starts every MTA and waits until each answers. */
  startAll: () => Promise<void>
  /** Every MTA's process state, with one question to the backend (asked once per sample). */
  states: () => Promise<Map<string, ProcessState>>
  fetchStatus: (name: string, timeoutMs: number) => Promise<MtaStatusDocument | undefined>
  deliveries: (name: string, after: number, timeoutMs: number) => Promise<DeliveryRecord[]>
  submit: (name: string, body: Record<string, unknown>) => Promise<string[]>
  /** Plays one step of the fault schedule. */
  applyFault: (step: FaultStep) => Promise<void>
  /**
   * Hands every JSON log line of every MTA to `onLine`: as they come (local), or when the site
   * is closed (docker, whose container logs survive restarts until the project is removed).
   */
  onLogLine: (onLine: (line: string) => void) => void
  /** The compose project of a docker site, for the xcon commands that drive it (--docker --file --project). */
  readonly compose?: { file: string, project: string } | undefined
  /** The Toxiproxy-compatible API on the site's links, where the backend has one (local). */
  readonly linkApiUrl?: string | undefined
  /** Changes made through that API, as they happen. */
  onLinkChange?: (listener: (change: LinkApiChange) => void) => void
  /** Closes every MTA down cleanly, passes on the logs not yet seen and removes what the run made. */
  close: () => Promise<void>
}
