/**
 * The free control-block indexes of a pool, lowest first, as a binary min-heap: taking one and
 * giving one back cost O(log n), whatever the number of live associations (issue #31: a scan of
 * the held blocks on every open made the pool's cost grow with them). Index 0 is the listener's
 * (Q243632) and is never here; a leaked index is simply never given back.
 */
export class BlockIndexes {
  private readonly heap: number[] = []

  /** Indexes 1 to `last`, all free. */
  constructor (last: number) {
    for (let i = 1; i <= last; i++) this.heap.push(i)
  }

  get size (): number {
    return this.heap.length
  }

  /** The lowest free index, taken; undefined when none is free. */
  take (): number | undefined {
    const heap = this.heap
    if (heap.length === 0) return undefined
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && heap[l]! < heap[m]!) m = l
        if (r < heap.length && heap[r]! < heap[m]!) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
        i = m
      }
    }
    return top
  }

  give (index: number): void {
    const heap = this.heap
    heap.push(index)
    let i = heap.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (heap[p]! <= heap[i]!) break
      ;[heap[i], heap[p]] = [heap[p]!, heap[i]!]
      i = p
    }
  }
}
