import { BenchSite, twoMtas, until } from './bench-site.js'

/**
 * Two MTAs, one intra-site association, 1 KiB messages, durable on both sides: messages per
 * second from the first submission at SRV-A to the last durable delivery at SRV-B.
 */
export async function xconThroughput (messages: number): Promise<{ rate: number, seconds: number }> {
  const b = await BenchSite.start(twoMtas())
  try {
    const started = Date.now()
    const submitting = b.submit('SRV-A', 'user1@SRV-B', messages)
    await until(`${messages} deliveries on SRV-B`, async () => (await b.status('SRV-B')).delivered >= messages, 600_000, 200)
    await submitting
    const seconds = (Date.now() - started) / 1000
    return { rate: messages / seconds, seconds }
  } finally {
    await b.close()
  }
}

/** Submit-to-delivery latency (median, p99) of a stream at `rate` messages per second for `seconds`. */
export async function latency (rate: number, seconds: number): Promise<{ p50: number, p99: number, samples: number }> {
  const b = await BenchSite.start(twoMtas())
  try {
    const total = Math.round(rate * seconds)
    const perTick = Math.max(1, Math.round(rate / 20))
    const start = Date.now()
    let sent = 0
    while (sent < total && Date.now() - start < (seconds + 30) * 1000) {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate) + perTick)
      if (due > sent) {
        await b.site.submit('SRV-A', { to: ['user1@SRV-B'], count: due - sent, body: 'a'.repeat(1024) })
        sent = due
      }
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    await until('every latency sample delivered', async () => (await b.status('SRV-B')).delivered >= sent, 120_000, 200)
    const lat: number[] = []
    let after = 0
    for (;;) {
      const page = await b.deliveries('SRV-B', after)
      if (page.length === 0) break
      for (const d of page) lat.push(d.at - d.submitted)
      after = page.at(-1)!.seq
    }
    lat.sort((x, y) => x - y)
    return { p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]!, samples: lat.length }
  } finally {
    await b.close()
  }
}
