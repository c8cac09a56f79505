import { Counter, Gauge, Registry } from 'prom-client'
import { BUILDS, freeBlocks, sampleFigures, type MtaNode } from '@xcon/core'

/**
 * `GET /metrics`: the MTA's figures in the Prometheus text format (prom-client), read from the
 * node at each scrape. Base units, `_total` on counters, low-cardinality labels; every series
 * carries `server` and `site`. The help texts name the Performance Monitor counter (Q234280) or
 * the KB each one mirrors. Counters count since the process started, except the store's
 * (delivered, duplicates, NDRs), which survive restarts as the store does.
 */
export function createMetrics (node: MtaNode): Registry {
  const registry = new Registry()
  const { config } = node
  registry.setDefaultLabels({ server: config.server.name, site: config.site.name })
  const registers = [registry]
  const pools = (): Array<['site' | 'connector', ReturnType<typeof node.pool.getSnapshot>['context']]> =>
    [['site', node.pool.getSnapshot().context], ['connector', node.connectorPool.getSnapshot().context]]

  new Gauge({
    name: 'xcon_mta_info', help: 'The emulated Exchange 5.5 MTA (Emsmta.exe): its build and service pack; always 1.', labelNames: ['build', 'service_pack'], registers,
    collect () { this.set({ build: String(config.server.build), service_pack: BUILDS[config.server.build].name }, 1) }
  })
  new Gauge({
    name: 'xcon_mta_up', help: 'The MTA service is running (1; event 9298 logged), or starting or closing down (0; 9299).', registers,
    collect () { this.set(node.state === 'running' ? 1 : 0) }
  })
  const blocks = (name: string, help: string, value: (ctx: ReturnType<typeof pools>[number][1]) => number): void => {
    new Gauge({ name, help, labelNames: ['pool'], registers, collect () { for (const [pool, ctx] of pools()) this.set({ pool }, value(ctx)) } })
  }
  blocks('xcon_control_blocks_capacity', 'Control blocks configured for the pool, the listener\'s included (site: network type 5, Q243632; connector: network type 1).', ctx => ctx.capacity)
  blocks('xcon_control_blocks_free', 'Control blocks free for a new association; at 0 every open fails with event 9156 (KB Q260167).', ctx => freeBlocks(ctx))
  blocks('xcon_control_blocks_in_use', 'Control blocks held by live associations (Adjacent MTA Associations, MSExchangeMTA).', ctx => ctx.held.size)
  blocks('xcon_control_blocks_leaked', 'Control blocks that failed associations never gave back (pre-SP4 intra-site pool only, KB Q260167); only a restart frees them.', ctx => ctx.leaked.length)
  new Counter({
    name: 'xcon_control_blocks_leaked_total', help: 'Control blocks kept by failed associations since the MTA started, by failure kind (KB Q260167; docs/leak-model.md).', labelNames: ['kind'], registers,
    collect () {
      this.reset()
      for (const b of node.pool.getSnapshot().context.leaked) this.inc({ kind: b.kind })
    }
  })
  new Counter({
    name: 'xcon_association_attempts_total', help: 'Associations that ended since the MTA started, by direction and outcome (released, refused 10061/9215, timeout, reset 2035, bind-rejected, aborted, unauthenticated; no-control-block is 9156).', labelNames: ['direction', 'outcome'], registers,
    collect () {
      this.reset()
      for (const [key, n] of node.counters.associationCounts) {
        const [, direction, outcome] = key.split('|')
        this.inc({ direction: direction!, outcome: outcome! }, n)
      }
    }
  })
  new Gauge({
    name: 'xcon_queue_depth', help: 'Messages queued for one next hop: MSExchangeMTA Connections, Queue Length (Q234280); channel is site, a connector, or ims.', labelNames: ['peer', 'channel'], registers,
    collect () {
      this.reset()
      for (const q of node.queues.values()) this.set({ peer: q.peer, channel: q.route.channel }, q.depth)
      if (node.ims !== undefined) this.set({ peer: config.server.ims?.smartHost ?? 'none', channel: 'ims' }, node.ims.queue.status().depth)
    }
  })
  new Gauge({
    name: 'xcon_queue_backlog_alarm', help: 'Queue depth at which the MTA logs 659 (Q163085; queueAlarm in the topology, 0 for off): alerts compare xcon_queue_depth with it.', registers,
    collect () { this.set(config.server.queueAlarm) }
  })
  new Gauge({
    name: 'xcon_work_queue_length', help: 'Messages the MTA holds and has not yet passed on: MSExchangeMTA, Work Queue Length (Q234280).', registers,
    collect () { this.set(sampleFigures(node).depth) }
  })
  new Gauge({
    name: 'xcon_association_opens_waiting', help: 'Outbound associations waiting for their turn to connect: at most XCON_MAX_OPENING (8) connect or bind at once in each pool. Not an Exchange counter.', registers,
    collect () { this.set(node.opensWaiting) }
  })
  const total = (name: string, help: string, value: () => number): void => {
    new Counter({ name, help, registers, collect () { this.reset(); this.inc(value()) } })
  }
  total('xcon_messages_submitted_total', 'Messages clients submitted to this MTA since it started (the admin API and the IMS; not its own reports).', () => node.counters.submitted)
  total('xcon_messages_delivered_total', 'Copies of messages placed in this server\'s mailboxes (kept in the store, so they survive restarts).', () => node.store.counters.delivered)
  total('xcon_duplicates_suppressed_total', 'Transfers that carried a copy already delivered or queued, suppressed by MTS-ID and recipients (kept in the store).', () => node.store.counters.duplicatesSuppressed)
  total('xcon_non_delivery_reports_total', 'Non-delivery reports generated (event 290), for example after 144 failed open retries (kept in the store).', () => node.store.counters.ndrs)
  new Counter({
    name: 'xcon_events_total', help: 'Exchange events this MTA logged since it started, by event ID (9156 no control blocks, 9318 bind failed, 2035 lost connection, ...).', labelNames: ['event_id'], registers,
    collect () {
      this.reset()
      for (const [id, n] of Object.entries(node.counters.eventCounts)) this.inc({ event_id: id }, n)
    }
  })
  new Gauge({
    name: 'xcon_control_blocks_exhaustion_seconds', help: 'Estimated MTA seconds until no intra-site control block is free (and 9156 begins), at the leak rate of the last 12 open intervals; absent while nothing leaks. Exchange had no such counter: the leak was silent (KB Q260167).', labelNames: ['pool'], registers,
    collect () {
      // Labelled so that a reset leaves no series at all, rather than a 0 that would read as "exhausted now".
      this.reset()
      const s = node.secondsToExhaustion()
      if (s !== undefined) this.set({ pool: 'site' }, s)
    }
  })
  return registry
}
