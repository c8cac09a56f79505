import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Challenge-response on the site's service-account secret (sites share one service account,
 * see the domain notes, section 3). The secret never crosses the wire: each side proves it by an
 * HMAC over the listener's nonce and both names. `role` keeps the caller's proof (bind) from being
 * replayed as the listener's (bind-back).
 */
export function bindProof (secret: string, role: 'bind' | 'bind-back', site: string, caller: string, listener: string, nonce: string): string {
  return createHmac('sha256', secret).update(`${role}\n${site}\n${caller}\n${listener}\n${nonce}`).digest('hex')
}

/** Compares two proofs in constant time. */
export function proofsMatch (expected: string, received: string): boolean {
  const a = Buffer.from(expected, 'hex')
  const b = Buffer.from(received, 'hex')
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b)
}
