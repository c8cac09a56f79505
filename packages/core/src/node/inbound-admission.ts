import type { MtaLimits } from '../config/mta-config.js'

/**
 * Counts inbound associations that have a control block but have not bound yet: their callers
 * have proved nothing. At most `maxUnbound` of them at once, and `maxUnboundPerAddress` from one
 * address, so that strangers can hold at most half the pool for a bind timeout at a time, and
 * never the blocks the site's own associations need.
 */
export class InboundAdmission {
  private readonly byAssoc = new Map<string, string>()
  private readonly byAddress = new Map<string, number>()

  constructor (private readonly limits: MtaLimits) {}

  /** Why a new caller from `address` must wait, or undefined when it may have a control block. */
  refusal (address: string): string | undefined {
    if (this.byAssoc.size >= this.limits.maxUnbound) return `${this.byAssoc.size} inbound associations are still binding, the limit`
    if ((this.byAddress.get(address) ?? 0) >= this.limits.maxUnboundPerAddress) return `${this.limits.maxUnboundPerAddress} inbound associations from ${address} are still binding, the limit for one address`
    return undefined
  }

  admitted (assocId: string, address: string): void {
    this.byAssoc.set(assocId, address)
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1)
  }

  /** The association bound or ended: it no longer counts. */
  settled (assocId: string): void {
    const address = this.byAssoc.get(assocId)
    if (address === undefined) return
    this.byAssoc.delete(assocId)
    const n = (this.byAddress.get(address) ?? 1) - 1
    if (n <= 0) this.byAddress.delete(address)
    else this.byAddress.set(address, n)
  }

  get unbound (): number {
    return this.byAssoc.size
  }
}
