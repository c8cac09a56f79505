/** The `xcon status --json` entry of one MTA (the first names are the contract; more may follow). */
export interface MtaStatusEntry {
  name: string
  site: string
  build: number | null
  state: string
  controlBlocks: { capacity: number, free: number, inUse: number, leaked: number, exhausted: boolean } | null
  queues: Array<{ peer: string, depth: number }>
  connectors?: Array<{ name: string, type: string, peer: string, state: string, depth: number }>
  smtp?: { port: number, domain: string }
  delivered: number | null
  duplicatesSuppressed: number | null
  ndrs: number | null
  [key: string]: unknown
}

/** A fixed-width table, one line per MTA, for people. */
export function renderStatusTable (mtas: MtaStatusEntry[]): string {
  const withConnectors = mtas.some(m => (m.connectors?.length ?? 0) > 0 || m.smtp !== undefined)
  const rows = [['SERVER', 'SITE', 'BUILD', 'STATE', 'CB FREE', 'LEAKED', 'QUEUES (peer:depth)', ...(withConnectors ? ['CONNECTORS (name:state:depth)'] : []), 'DELIVERED', 'DUPS', 'NDRS']]
  for (const m of mtas) {
    const cb = m.controlBlocks
    rows.push([
      m.name,
      m.site,
      m.build === null ? '-' : String(m.build),
      cb?.exhausted === true ? `${m.state} (no CBs)` : m.state,
      cb === null ? '-' : `${cb.free}/${cb.capacity}`,
      cb === null ? '-' : String(cb.leaked),
      m.queues.length === 0 ? '-' : m.queues.map(q => `${q.peer}:${q.depth}`).join(' '),
      ...(withConnectors ? [[...(m.connectors ?? []).map(c => `${c.name}:${c.state}:${c.depth}`), ...(m.smtp === undefined ? [] : [`IMS:${m.smtp.port}`])].join(' ') || '-'] : []),
      String(m.delivered ?? '-'),
      String(m.duplicatesSuppressed ?? '-'),
      String(m.ndrs ?? '-')
    ])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map(r => r[i]!.length)))
  return rows.map(r => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')
}
