import { hash } from 'node:crypto'
import type { Envelope } from '@xcon/core'

/**
 * The duplicate key of one copy of a message: its MTS-ID and its recipients. Routing splits a
 * message into copies with disjoint recipients, so a copy that arrives twice is a
 * retransmission, never a second copy.
 * The key is the MTS-ID's first 200 characters (keys of one sender's mail stay near each other
 * in the B-tree: random keys would dirty a page per message and slow every commit) and a hash of
 * the whole MTS-ID and the sorted recipients, so that at most about 620 bytes, far under LMDB's
 * key limit, stand for any recipient list.
 */
export function copyKey (envelope: Envelope): string {
  // One-shot hash of the joined text: the same digest as hashing the parts in turn (the keys of
  // stores written before stay valid), in less than half the time of a Hash object (#14).
  // crypto.hash needs Node 20.12.
  const text = [envelope.mtsId, ...[...envelope.recipients].sort()].join('\n')
  return `${envelope.mtsId.slice(0, 200)}|${hash('sha256', text, 'base64url').slice(0, 22)}`
}
