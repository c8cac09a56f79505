import type { SiteProxies } from './site-proxies.js'

/**
 * The link API's `GET /metrics`: bytes per link and stream, as Toxiproxy's
 * toxiproxy_proxy_{received,sent}_bytes_total count them (received from the source, sent to the
 * destination; what a toxic swallows is the difference). prom-client is loaded at the first
 * scrape, so a site that is never scraped does not pay for it.
 */
export function linkMetrics (site: SiteProxies): () => Promise<{ contentType: string, text: string }> {
  let registry: import('prom-client').Registry | undefined
  return async () => {
    if (registry === undefined) {
      const { Counter, Registry } = await import('prom-client')
      registry = new Registry()
      const registers = [registry]
      const counter = (name: string, help: string, field: 'received' | 'sent'): void => {
        new Counter({
          name, help, labelNames: ['link', 'direction'], registers,
          collect () {
            this.reset()
            for (const p of site.all()) for (const direction of ['upstream', 'downstream'] as const) this.inc({ link: p.link.name, direction }, p.counts[direction][field])
          }
        })
      }
      counter('xcon_link_received_bytes_total', 'Bytes a link\'s proxy read from the sending end, by stream (upstream: the calling MTA\'s, downstream: its peer\'s); Toxiproxy\'s toxiproxy_proxy_received_bytes_total.', 'received')
      counter('xcon_link_sent_bytes_total', 'Bytes a link\'s proxy wrote to the receiving end, by stream; less than received while a toxic holds bytes back. Toxiproxy\'s toxiproxy_proxy_sent_bytes_total.', 'sent')
    }
    return { contentType: registry.contentType, text: await registry.metrics() }
  }
}
