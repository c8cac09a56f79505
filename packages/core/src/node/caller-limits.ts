/** The limits of one kind of caller: in all, from one address, and how long one is spared. */
export interface CallerLimitsConfig {
  total: number
  perAddress: number
  /** A caller that has proved nothing for this long may make room for a newer one. */
  graceMs: number
}

/**
 * What a newcomer gets: room (after `displace` gives up its place, if named), or why not, with
 * `retryInMs` when a place can be had by then (the oldest waiting caller's grace runs out).
 */
export type CallerRoom<K> = { ok: true, displace?: K } | { ok: false, reason: string, retryInMs?: number }

/**
 * Callers counted against a limit in all and one per address, of which those that have not
 * proved themselves yet (`waiting`, oldest first) may be displaced. At a limit, the oldest
 * waiting caller that has had `graceMs` to prove itself makes room for the newcomer (from the
 * newcomer's own address when that address is at its limit). A site's real peers bind within
 * milliseconds of connecting, so slow strangers holding every place cannot shut them out
 * (issue #30), and a peer is never displaced while it binds. Only while every waiting caller
 * is younger than the grace is a newcomer refused. Pure bookkeeping: the caller passes the time.
 */
export class CallerLimits<K> {
  /** Every counted caller, by key: its address, and since when it waits (undefined once proven). */
  private readonly callers = new Map<K, { address: string, since: number | undefined }>()
  /** Callers not yet proven, in arrival order. */
  private readonly waiting = new Set<K>()
  private readonly byAddress = new Map<string, number>()

  constructor (private readonly limits: CallerLimitsConfig) {}

  /** Whether a newcomer from `address` may be counted at `now`, and whom it displaces. */
  room (address: string, now: number): CallerRoom<K> {
    const fromAddress = this.byAddress.get(address) ?? 0
    const addressFull = fromAddress >= this.limits.perAddress
    if (!addressFull && this.callers.size < this.limits.total) return { ok: true }
    const mine = (key: K): boolean => !addressFull || this.callers.get(key)!.address === address
    const displace = this.displaceable(now, mine)
    if (displace !== undefined) return { ok: true, displace }
    const next = [...this.waiting].find(mine)
    return {
      ok: false,
      reason: addressFull
        ? `${fromAddress} from ${address}, the limit for one address, none waiting ${this.limits.graceMs} ms yet`
        : `${this.callers.size}, the limit, none waiting ${this.limits.graceMs} ms yet`,
      ...(next === undefined ? {} : { retryInMs: Math.max(1, this.callers.get(next)!.since! + this.limits.graceMs - now) })
    }
  }

  /** Counts a caller that has proved nothing yet. */
  add (key: K, address: string, now: number): void {
    if (this.callers.has(key)) return
    this.callers.set(key, { address, since: now })
    this.waiting.add(key)
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1)
  }

  /** The caller proved itself: it still counts, but is never displaced. */
  proven (key: K): void {
    const c = this.callers.get(key)
    if (c === undefined) return
    c.since = undefined
    this.waiting.delete(key)
  }

  /** The caller is gone: it no longer counts. */
  remove (key: K): void {
    const c = this.callers.get(key)
    if (c === undefined) return
    this.callers.delete(key)
    this.waiting.delete(key)
    const n = (this.byAddress.get(c.address) ?? 1) - 1
    if (n <= 0) this.byAddress.delete(c.address)
    else this.byAddress.set(c.address, n)
  }

  get size (): number {
    return this.callers.size
  }

  get waitingCount (): number {
    return this.waiting.size
  }

  addressOf (key: K): string | undefined {
    return this.callers.get(key)?.address
  }

  /** The oldest waiting caller that has had its grace and that `which` accepts, or undefined. */
  displaceable (now: number, which: (key: K) => boolean = () => true): K | undefined {
    for (const key of this.waiting) {
      // Arrival order is age order: once one is too young, every later one is too.
      if (now - this.callers.get(key)!.since! < this.limits.graceMs) return undefined
      if (which(key)) return key
    }
    return undefined
  }
}
