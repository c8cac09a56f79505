import type { HistoryRecord } from '@xcon/core'
import type { LinkApiChange } from './link-api.js'

/** The history's name for each change the link API makes (check-history.ts reads them as faults). */
const ACTION: Record<LinkApiChange['action'], string> = {
  toxic: 'link-toxic', untoxic: 'link-untoxic', disable: 'link-disable', enable: 'link-enable', reset: 'link-reset', partition: 'partition', heal: 'join'
}

/**
 * A change made through the link API during a scenario, as a fault record: its targets are both
 * ends of every link it touched (all servers for a reset or a heal), so the report shades them.
 */
export function linkFaultRecord (t: number, change: LinkApiChange, servers: readonly string[]): HistoryRecord {
  const whole = change.action === 'reset' || change.action === 'heal'
  const targets = whole ? [...servers] : [...new Set(change.links.flatMap(l => [l.from, l.to]))]
  return {
    t,
    type: 'fault',
    action: ACTION[change.action],
    targets,
    source: `link API: ${change.text}`,
    links: change.links.map(l => l.name),
    ...(change.toxic === undefined ? {} : { toxic: change.toxic.name })
  }
}
