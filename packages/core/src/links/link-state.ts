import { ToxicExistsError, ToxicNotFoundError } from '../errors.js'
import { parseToxic, updateToxic, type Toxic } from './toxic.js'

/** A directed link's proxy name: the associations `from` opens to `to` pass through it. */
export const linkName = (from: string, to: string): string => `${from}->${to}`

/** What changed on a link, for the proxy that carries it and for whoever records it. */
export type LinkChange =
  | { kind: 'toxic-added', toxic: Toxic }
  | { kind: 'toxic-updated', toxic: Toxic }
  | { kind: 'toxic-removed', toxic: Toxic }
  | { kind: 'enabled', enabled: boolean }

/** A link as Toxiproxy shows a proxy: `GET /proxies/{name}`. */
export interface ProxyDocument {
  name: string
  listen: string
  upstream: string
  enabled: boolean
  toxics: Toxic[]
}

/**
 * One directed link of the site and what is done to it: enabled or not, and its toxics in the
 * order they were added (the order they act in, as in Toxiproxy's chain). Pure state; the proxy
 * that carries the link's bytes follows it through `onChange`.
 */
export class LinkState {
  readonly name: string
  private enabledNow = true
  private readonly chain: Toxic[] = []
  private readonly listeners: Array<(change: LinkChange) => void> = []

  constructor (readonly from: string, readonly to: string, readonly listen: string, readonly upstream: string) {
    this.name = linkName(from, to)
  }

  get enabled (): boolean { return this.enabledNow }
  get toxics (): readonly Toxic[] { return this.chain }

  onChange (listener: (change: LinkChange) => void): void {
    this.listeners.push(listener)
  }

  toxic (name: string): Toxic {
    const found = this.chain.find(t => t.name === name)
    if (found === undefined) throw new ToxicNotFoundError(name)
    return found
  }

  has (name: string): boolean {
    return this.chain.some(t => t.name === name)
  }

  /** Adds a toxic from a request body (or a toxic already parsed); 409 if one of its name is here. */
  addToxic (body: unknown): Toxic {
    const toxic = parseToxic(body)
    if (this.has(toxic.name)) throw new ToxicExistsError(toxic.name)
    this.chain.push(toxic)
    this.emit({ kind: 'toxic-added', toxic })
    return toxic
  }

  updateToxic (name: string, body: unknown): Toxic {
    const i = this.chain.indexOf(this.toxic(name))
    const toxic = updateToxic(this.chain[i]!, body)
    this.chain[i] = toxic
    this.emit({ kind: 'toxic-updated', toxic })
    return toxic
  }

  removeToxic (name: string): Toxic {
    const toxic = this.toxic(name)
    this.chain.splice(this.chain.indexOf(toxic), 1)
    this.emit({ kind: 'toxic-removed', toxic })
    return toxic
  }

  /** Disabled, the link refuses connections and resets those open (Toxiproxy's `enabled: false`). */
  setEnabled (enabled: boolean): void {
    if (enabled === this.enabledNow) return
    this.enabledNow = enabled
    this.emit({ kind: 'enabled', enabled })
  }

  /** Toxiproxy's reset: enabled again, every toxic removed. Says whether anything changed. */
  reset (): boolean {
    const changed = !this.enabledNow || this.chain.length > 0
    while (this.chain.length > 0) this.removeToxic(this.chain[this.chain.length - 1]!.name)
    this.setEnabled(true)
    return changed
  }

  document (): ProxyDocument {
    return { name: this.name, listen: this.listen, upstream: this.upstream, enabled: this.enabledNow, toxics: [...this.chain] }
  }

  private emit (change: LinkChange): void {
    for (const l of this.listeners) l(change)
  }
}
