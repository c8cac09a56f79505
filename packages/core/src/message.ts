/** X.400 priorities as the Exchange Queues tab shows them. */
export const PRIORITIES = ['urgent', 'normal', 'nonurgent'] as const
export type Priority = typeof PRIORITIES[number]

/** One hop of a message's trace: a server it passed and when (epoch ms). */
export interface Hop {
  server: string
  site: string
  arrived: number
}

/**
 * The P1 envelope of a message. `kind: 'report'` marks a non-delivery report, which is never
 * itself answered with a report (no NDR loops).
 */
export interface Envelope {
  mtsId: string
  originator: string
  recipients: string[]
  priority: Priority
  submitTime: number
  subject: string
  kind: 'message' | 'report'
  trace: Hop[]
  /** `rfc822`: the content is a whole Internet message (it came in over SMTP); absent: plain text. */
  format?: 'rfc822'
}

export interface Message {
  envelope: Envelope
  content: Uint8Array
}

/**
 * An Exchange-style MTS identifier, `c=US;a= ;p=ORG;l=SERVER-yymmddhhmmssZ-N` (the form Exchange
 * writes in message tracking). `counter` must never repeat on a server; the MTA persists it.
 */
export function formatMtsId (org: string, server: string, at: number, counter: number): string {
  const d = new Date(at)
  const two = (n: number): string => String(n).padStart(2, '0')
  const stamp = `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`
  return `c=US;a= ;p=${org};l=${server}-${stamp}-${counter}`
}
