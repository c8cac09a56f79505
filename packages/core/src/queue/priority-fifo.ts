import { PRIORITIES, type Priority } from '../message.js'

/**
 * Waiting messages in priority order (urgent, normal, non-urgent), first in first out within a
 * priority. O(1) to add and to take: a queue may hold tens of thousands of messages.
 */
export class PriorityFifo<T extends { envelope: { priority: Priority } }> {
  private readonly lanes = PRIORITIES.map(() => ({ items: [] as T[], head: 0 }))

  get length (): number {
    return this.lanes.reduce((n, l) => n + l.items.length - l.head, 0)
  }

  push (item: T): void {
    this.lanes[PRIORITIES.indexOf(item.envelope.priority)]!.items.push(item)
  }

  /** Puts an item back in front of its lane (a transfer that lost its association). */
  unshift (item: T): void {
    const lane = this.lanes[PRIORITIES.indexOf(item.envelope.priority)]!
    if (lane.head > 0) lane.items[--lane.head] = item
    else lane.items.unshift(item)
  }

  shift (): T | undefined {
    for (const lane of this.lanes) {
      if (lane.head < lane.items.length) {
        const item = lane.items[lane.head++]!
        // Drop the consumed prefix now and then, so memory follows the queue.
        if (lane.head > 1024 && lane.head * 2 > lane.items.length) { lane.items.splice(0, lane.head); lane.head = 0 }
        return item
      }
    }
    return undefined
  }

  /** Takes everything out, in order. */
  drain (): T[] {
    const out: T[] = []
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item)
    return out
  }
}
