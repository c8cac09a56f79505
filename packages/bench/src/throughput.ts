import { BenchSite, twoMtas, until } from './bench-site.js'
import { startMachineCpu } from './machine-cpu.js'

/**
 * Two MTAs, one intra-site association, 1 KiB messages, durable on both sides: messages per
 * second from the first submission at SRV-A to the last durable delivery at SRV-B, and the
 * machine's CPU per message over that time (the MTAs' start-up is not in it).
 */
export async function xconThroughput (messages: number): Promise<{ rate: number, seconds: number, cpuMicrosPerMessage: number | null }> {
  const b = await BenchSite.start(twoMtas())
  try {
    const cpu = startMachineCpu()
    const started = Date.now()
    const submitting = b.submit('SRV-A', 'user1@SRV-B', messages)
    await until(`${messages} deliveries on SRV-B`, async () => (await b.status('SRV-B')).delivered >= messages, 600_000, 200)
    await submitting
    const seconds = (Date.now() - started) / 1000
    return { rate: messages / seconds, seconds, cpuMicrosPerMessage: cpu.perMessage(messages) }
  } finally {
    await b.close()
  }
}

/** A latency distribution in ms. */
export interface Latency { p50: number, p99: number, samples: number }

/**
 * Submit-to-delivery latency (median, p99) of a stream at `rate` messages per second for
 * `seconds`, after `warmupSeconds` of the same stream that are reported apart: the first
 * association opens and the JIT compiles the path then (a p50 of about 60 ms in the first half
 * second, 5 to 9 ms after it), which one run's p99 would otherwise measure. The stream is
 * submitted every 10 ms (what is due by then), by up to eight clients at once: a steady stream,
 * not bursts. With 50 ms bursts awaited one after another (before #14's note), the figure
 * measured the bursts: at 6,000 msg/s, 14 ms median against 7 ms.
 */
export async function latency (rate: number, seconds: number, warmupSeconds = 1): Promise<Latency & { warmup: Latency }> {
  const b = await BenchSite.start(twoMtas())
  try {
    const all = seconds + warmupSeconds
    const total = Math.round(rate * all)
    const start = Date.now()
    let sent = 0
    const inFlight = new Set<Promise<unknown>>()
    while (sent < total && Date.now() - start < (all + 30) * 1000) {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate) + 1)
      if (due > sent && inFlight.size < 8) {
        const p: Promise<unknown> = b.site.submit('SRV-A', { to: ['user1@SRV-B'], count: due - sent, body: 'a'.repeat(1024) }).finally(() => inFlight.delete(p))
        inFlight.add(p)
        sent = due
      }
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    await Promise.all(inFlight)
    await until('every latency sample delivered', async () => (await b.status('SRV-B')).delivered >= sent, 120_000, 200)
    // The MTAs stamp `submitted` with this machine's clock, the one `start` was read from.
    const measuredFrom = start + warmupSeconds * 1000
    const warm: number[] = []
    const lat: number[] = []
    let after = 0
    for (;;) {
      const page = await b.deliveries('SRV-B', after)
      if (page.length === 0) break
      for (const d of page) (d.submitted < measuredFrom ? warm : lat).push(d.at - d.submitted)
      after = page.at(-1)!.seq
    }
    return { ...percentiles(lat), warmup: percentiles(warm) }
  } finally {
    await b.close()
  }
}

function percentiles (lat: number[]): Latency {
  lat.sort((x, y) => x - y)
  return { p50: lat[Math.floor(lat.length * 0.5)] ?? NaN, p99: lat[Math.floor(lat.length * 0.99)] ?? NaN, samples: lat.length }
}
