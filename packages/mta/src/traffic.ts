import { SeededRandom, seedFromText, type MtaConfig } from '@xcon/core'
import type { Logger } from './logger.js'
import type { MtaState, Submission } from '@xcon/core'

/** What the generator needs of its MTA. */
export interface TrafficHost {
  readonly state: MtaState
  readonly log: Logger
  submit: (s: Submission) => Promise<string>
}

/**
 * Sends messages at the configured rate from random local mailboxes to random mailboxes of the
 * site (this server included), so every queue is exercised. Seeded from the server name.
 */
export class TrafficGenerator {
  private timer: NodeJS.Timeout | undefined
  private readonly random: SeededRandom
  private sent = 0

  constructor (private readonly mta: TrafficHost, private readonly config: MtaConfig) {
    this.random = new SeededRandom(seedFromText(`traffic/${config.server.name}`))
  }

  start (): void {
    const { rate } = this.config.server.traffic
    if (rate <= 0) return
    const tick = (): void => {
      // Exponential gaps: arrivals of a Poisson process at `rate` per second.
      const gapMs = (-Math.log(1 - this.random.next()) / rate) * 1000
      this.timer = setTimeout(() => { this.sendOne(); tick() }, gapMs)
    }
    tick()
  }

  private sendOne (): void {
    if (this.mta.state !== 'running') return
    const { topology, site, server } = this.config
    const to = topology.servers[this.random.pick(site.servers)]!
    const size = server.traffic.size
    this.mta.submit({
      from: this.random.pick(server.mailboxes),
      to: [`${this.random.pick(to.mailboxes)}@${to.name}`],
      subject: `traffic ${server.name} #${++this.sent}`,
      content: Buffer.alloc(size, 0x61),
      priority: server.traffic.priority
    }).catch((err: Error) => this.mta.log.error({ err }, 'traffic submission failed'))
  }

  stop (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}
