import { mayReroute, rerouteTarget } from '../routing/decisions.js'
import { route, type Route } from '../routing/route.js'
import type { Topology } from '../topology/topology.js'
import type { LogSink, MailStore, QueuedMessage } from '../ports.js'

/** What rerouting needs of a queue: whether its opens fail, and its waiting mail. */
export interface ReroutableQueue {
  readonly key: string
  readonly isDown: boolean
  takeWaiting: () => QueuedMessage[]
  add: (items: QueuedMessage[]) => void
}

export interface ReroutingPorts {
  topology: Topology
  server: string
  log: LogSink
  store: Pick<MailStore, 'requeue'>
  queues: ReadonlyMap<string, ReroutableQueue>
  /** Hands stored records to their queues. */
  enqueue: (records: QueuedMessage[]) => void
}

/**
 * Routing with the GWART around what fails: connectors, and bridgeheads of this site, whose queue
 * cannot open are avoided while another route remains, and a queue that fails to open gives its
 * waiting mail to the route that can carry it.
 */
export class Rerouting {
  constructor (private readonly ports: ReroutingPorts) {}

  /** Routes recipients from this server, avoiding connectors and bridgeheads whose queue is failing. */
  route (recipients: readonly string[]): Route {
    const { queues, topology, server } = this.ports
    const down = (key: string): boolean => queues.get(key)?.isDown ?? false
    return route(topology, server, recipients, c => down(`connector:${c}`), s => down(`server:${s}`))
  }

  /**
   * A connector, or the association to a server of this site, failed to open: its waiting mail
   * that another route can carry moves there (the GWART's fallback): mail for another site that
   * waited for a bridgehead goes over a connector this server can use. Mail for the server itself
   * routes to the same queue, so it stays and waits for the next open retry.
   */
  async around (queue: ReroutableQueue): Promise<void> {
    const { log, store, topology } = this.ports
    if (!mayReroute(topology, queue.key)) return
    const waiting = queue.takeWaiting()
    const stay: QueuedMessage[] = []
    const moves: Array<{ from: QueuedMessage, to: Omit<QueuedMessage, 'seq'> }> = []
    for (const item of waiting) {
      const to = rerouteTarget(this.route(item.envelope.recipients), queue.key)
      if (to === undefined) stay.push(item)
      else moves.push({ from: item, to: { ...item, queue: to } })
    }
    if (stay.length > 0) queue.add(stay)
    if (moves.length === 0) return
    const records = await store.requeue(moves)
    log.warn({ category: 'X.400 Service', from: queue.key, count: records.length, to: [...new Set(records.map(r => r.queue))] }, `${records.length} messages rerouted around ${queue.key}, which cannot open`)
    this.ports.enqueue(records)
  }
}
