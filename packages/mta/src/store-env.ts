import { open, type Database, type Key, type RootDatabase } from 'lmdb'
import type { DeliveryRecord, QueuedMessage } from '@xcon/core'

/** A queue record's key: queue, then priority rank (urgent first), then arrival order. */
export type QueueKey = [string, number, number]

/** The store's LMDB environment and its databases. */
export interface StoreEnv {
  root: RootDatabase
  queue: Database<QueuedMessage, QueueKey>
  deliveries: Database<DeliveryRecord, number>
  seen: Database<number, string>
  meta: Database<number, string>
  /** What the store check found that is not a message (Mtacheck.out in Exchange). */
  damaged: Database<unknown, Key>
}

export function openStoreEnv (path: string): StoreEnv {
  // remapChunks: LMDB maps the file in chunks and unmaps those no read holds, so the store's
  // pages the kernel maps around each commit's reads leave the process's RSS (with 200,000
  // queued, 76 → 63 MB mapped; README "Resident memory"). The file format is the same, and the
  // transfer bench's rate did not move beyond its noise.
  // eventTurnBatching off: every write here is an explicit transaction, and lmdb-js's event-turn
  // batch adds a commit promise of its own that nothing can handle, so a failed commit (a full
  // disk) would be an unhandled rejection and end the process (issue #30). The transfer bench:
  // 22.8k-23.9k msg/s without it, 22.1k-24.9k with it, the store's own writes unchanged.
  const root = open({ path, compression: false, remapChunks: true, eventTurnBatching: false })
  return {
    root,
    queue: root.openDB({ name: 'queue' }),
    deliveries: root.openDB({ name: 'deliveries' }),
    seen: root.openDB({ name: 'seen' }),
    meta: root.openDB({ name: 'meta' }),
    damaged: root.openDB({ name: 'mtacheck.out' })
  }
}

/** The bytes the live pages of every database take (branch, leaf and overflow pages). */
export function liveBytes (env: StoreEnv): number {
  let pages = 0
  for (const db of [env.root, env.queue, env.deliveries, env.seen, env.meta, env.damaged] as Array<{ getStats: () => unknown }>) {
    const s = db.getStats() as { treeBranchPageCount: number, treeLeafPageCount: number, overflowPages: number, pageSize: number }
    pages += s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages
  }
  return pages * ((env.root.getStats() as { pageSize: number }).pageSize)
}

