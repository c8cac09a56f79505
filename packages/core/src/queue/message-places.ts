import type { QueuedMessage } from '../ports.js'

/**
 * Where one message of a queue is, outside the queue's waiting window:
 * - `flight`: in a transfer on association `assocId`, waiting for its acknowledgement;
 * - `settling`: answered, its next place being written (removed from the store, answered with
 *   an NDR, held for a retry): still in the store, so a refill of the window must not read it;
 * - `delayed`: held until `timer` fires, then back at the front of the window;
 * - `waiting`: back in the window, and known here only for its marks: `solo`, the peer refused
 *   a transfer it was in as too large (1009), so it goes alone; `doomed`, it failed for good
 *   (the code) after its association's end had already put it back, so it is answered when next
 *   reached.
 */
export type Place = (
  | { at: 'flight', item: QueuedMessage, assocId: string }
  | { at: 'settling', item: QueuedMessage }
  | { at: 'delayed', item: QueuedMessage, timer: unknown }
  | { at: 'waiting', item: QueuedMessage }
) & Marks

/** Marks stay with a message through its places until the queue acts on them. */
export interface Marks {
  solo?: boolean
  doomed?: string
}

/**
 * One record per message of where it is (issue #31: the queue kept that across seven
 * collections). Messages in flight are kept in the order they were sent, so that those of a lost
 * association go back in that order. Counts are kept as places change, never by a scan.
 */
export class MessagePlaces {
  private readonly places = new Map<number, Place>()
  private flying = 0
  private flyingBytes = 0
  private holding = 0

  get inFlight (): number {
    return this.flying
  }

  get inFlightBytes (): number {
    return this.flyingBytes
  }

  get delayed (): number {
    return this.holding
  }

  /** Whether the queue holds the message outside its window (a refill must skip it). */
  held (seq: number): boolean {
    const p = this.places.get(seq)
    return p !== undefined && p.at !== 'waiting'
  }

  /** The marks of a message, if any. */
  marks (seq: number): Marks {
    return this.places.get(seq) ?? {}
  }

  /** Moves a message to `place` (undefined: back in the window), keeping its marks unless `clear` drops them. */
  private set (seq: number, place: Place | undefined, clear: Array<keyof Marks> = []): void {
    const old = this.places.get(seq)
    if (old?.at === 'flight') { this.flying--; this.flyingBytes -= old.item.content.byteLength }
    if (old?.at === 'delayed') this.holding--
    // Deleted first, so that the map's order is the order of the latest change (sent order for flight).
    this.places.delete(seq)
    const marks: Marks = {}
    if (old?.solo === true && !clear.includes('solo')) marks.solo = true
    if (old?.doomed !== undefined && !clear.includes('doomed')) marks.doomed = old.doomed
    if (place === undefined) {
      if (old !== undefined && (marks.solo === true || marks.doomed !== undefined)) this.places.set(seq, { at: 'waiting', item: old.item, ...marks })
      return
    }
    if (place.at === 'flight') { this.flying++; this.flyingBytes += place.item.content.byteLength }
    if (place.at === 'delayed') this.holding++
    this.places.set(seq, { ...place, ...marks })
  }

  /** In a transfer on `assocId`; a solo message's mark is spent. */
  fly (item: QueuedMessage, assocId: string): void {
    this.set(item.seq, { at: 'flight', item, assocId }, ['solo'])
  }

  /** Whether the message is in flight on `assocId` (a transfer's answer may come after a loss put it back). */
  flyingOn (seq: number, assocId: string): boolean {
    const p = this.places.get(seq)
    return p?.at === 'flight' && p.assocId === assocId
  }

  /** Out of flight (or out of the window): its next place is being written; `spent` marks are dropped. */
  settle (item: QueuedMessage, spent: Array<keyof Marks> = []): void {
    this.set(item.seq, { at: 'settling', item }, spent)
  }

  /** Its next place is written (or it went back to the window): forgotten, unless it moved on meanwhile. */
  settled (item: QueuedMessage): void {
    if (this.places.get(item.seq)?.at === 'settling') this.set(item.seq, undefined)
  }

  delay (item: QueuedMessage, timer: unknown): void {
    this.set(item.seq, { at: 'delayed', item, timer })
  }

  /** Back in the window (a delay ended, or its association was lost). */
  unhold (item: QueuedMessage): void {
    this.set(item.seq, undefined)
  }

  /** Marks a message wherever it is: acted on when the queue next reaches it. */
  mark (item: QueuedMessage, marks: Marks): void {
    const p = this.places.get(item.seq)
    this.places.set(item.seq, { ...(p ?? { at: 'waiting', item }), ...marks })
  }

  /** Messages in flight on `assocId`, in the order they were sent. */
  flyingOnAssociation (assocId: string): QueuedMessage[] {
    const out: QueuedMessage[] = []
    for (const p of this.places.values()) if (p.at === 'flight' && p.assocId === assocId) out.push(p.item)
    return out
  }

  /** Takes every delayed message out of its delay, its timer cleared by `clear`. */
  takeDelayed (clear: (timer: unknown) => void): QueuedMessage[] {
    const out: QueuedMessage[] = []
    for (const p of [...this.places.values()]) {
      if (p.at !== 'delayed') continue
      clear(p.timer)
      this.set(p.item.seq, undefined)
      out.push(p.item)
    }
    return out
  }
}
