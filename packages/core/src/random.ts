/**
 * A seeded pseudo-random generator (mulberry32): the same seed gives the same leak decisions and
 * the same traffic, so a run can be repeated. Returns the next state with the value, to stay pure.
 */
export function nextRandom (state: number): [value: number, state: number] {
  const s = (state + 0x6d2b79f5) >>> 0
  let t = s
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, s]
}

/** A stable 32-bit seed from text (FNV-1a), so each server's default seed follows from its name. */
export function seedFromText (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A stateful wrapper for code that is not a machine (traffic generation). */
export class SeededRandom {
  constructor (private state: number) {}
  next (): number {
    const [value, state] = nextRandom(this.state)
    this.state = state
    return value
  }
  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list')
    return items[Math.floor(this.next() * items.length)] as T
  }
}
