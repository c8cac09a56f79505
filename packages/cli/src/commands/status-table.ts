import type { ControlBlockStatus, MtaStatusDocument } from '@xcon/core'
import type { NodePlacement } from '../site/site-backend.js'

/**
 * The `xcon status --json` entry of one MTA: its /status document (core's admin contract) with
 * `controlBlocks.exhausted`, or, for an MTA that cannot answer, its name, site and state with nulls.
 */
export type MtaStatusEntry =
  | (Omit<MtaStatusDocument, 'controlBlocks'> & { controlBlocks: ControlBlockStatus & { exhausted: boolean }, metricsUrl: string | null } & Partial<NodePlacement>)
  | ({ name: string, site: string, build: null, state: 'down' | 'paused' | 'unresponsive', controlBlocks: null, queues: [], delivered: null, duplicatesSuppressed: null, ndrs: null, metricsUrl: string | null } & Partial<NodePlacement>)

/** A fixed-width table, one line per MTA, for people. */
export function renderStatusTable (mtas: MtaStatusEntry[]): string {
  const withConnectors = mtas.some(m => m.controlBlocks !== null && (m.connectors.length > 0 || m.smtp !== undefined))
  // A stack's MTAs run on swarm nodes: which one, and a node Swarm does not see ready, say so.
  const withNodes = mtas.some(m => m.node !== undefined)
  const rows = [['SERVER', 'SITE', ...(withNodes ? ['NODE'] : []), 'BUILD', 'STATE', 'CB FREE', 'LEAKED', 'QUEUES (peer:depth)', ...(withConnectors ? ['CONNECTORS (name:state:depth)'] : []), 'DELIVERED', 'DUPS', 'NDRS']]
  for (const m of mtas) {
    const cb = m.controlBlocks
    rows.push([
      m.name,
      m.site,
      ...(withNodes ? [m.node === undefined ? '-' : m.nodeState === 'ready' ? m.node : `${m.node} (${m.nodeState ?? 'unknown'})`] : []),
      m.build === null ? '-' : String(m.build),
      cb?.exhausted === true ? `${m.state} (no CBs)` : m.state,
      cb === null ? '-' : `${cb.free}/${cb.capacity}`,
      cb === null ? '-' : String(cb.leaked),
      m.queues.length === 0 ? '-' : m.queues.map(q => `${q.peer}:${q.depth}`).join(' '),
      ...(withConnectors ? [(m.controlBlocks === null ? [] : [...m.connectors.map(c => `${c.name}:${c.state}:${c.depth}`), ...(m.smtp === undefined ? [] : [`IMS:${m.smtp.port ?? '-'}`])]).join(' ') || '-'] : []),
      String(m.delivered ?? '-'),
      String(m.duplicatesSuppressed ?? '-'),
      String(m.ndrs ?? '-')
    ])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map(r => r[i]!.length)))
  return rows.map(r => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')
}
