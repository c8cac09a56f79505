import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { poolHarness } from '../support/pool-harness.js'

/** A full collection, so that what is measured is the live heap. */
function liveHeap (): number {
  v8.setFlagsFromString('--expose_gc')
  const gc = vm.runInNewContext('gc') as () => void
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

describe('the pool\'s memory', () => {
  it('does not grow with the associations it has had: 100,000, half of them strangers displaced before they bound', () => {
    const { open, associate, context, heard, reported } = poolHarness({ leaks: true, probability: 0, peers: { INBOUND: 'silent', HEALTHY: 'up' } })
    const round = (): void => {
      open('HEALTHY').release()
      associate('inbound').displace('a newer caller')
      heard.length = 0
      reported.length = 0
    }
    for (let i = 0; i < 2_000; i++) round()
    const before = liveHeap()
    for (let i = 0; i < 50_000; i++) round()
    const grown = liveHeap() - before
    expect(context().held.size).toBe(0)
    expect(context().counts).toMatchObject({ opened: 104_000, released: 52_000, failed: 52_000 })
    expect(grown).toBeLessThan(1024 * 1024)
  })
})
