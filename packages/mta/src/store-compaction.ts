import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { RootDatabase } from 'lmdb'

/** A store compacts only after this long without a write (real time). */
export const COMPACT_IDLE_MS = 5_000
/** ...and only when its file holds at least this much more than its live pages, and twice them. */
export const COMPACT_SLACK_BYTES = 16 * 1024 * 1024

/** The directory a compacted copy is written to, beside the store. */
export function copyDir (path: string): string {
  return `${path}.compact`
}

export function dataFileBytes (path: string): number {
  try {
    return statSync(join(path, 'data.mdb')).size
  } catch {
    return 0
  }
}

/**
 * Whether a store whose file is `fileBytes` with `live` bytes of pages in use is worth compacting.
 * LMDB never shrinks its file: after a backlog drains, the pages it held are free for reuse but
 * still on disk, and every one the queues read stayed mapped into the process (issue #30: 790 MB
 * on disk, 390 MB resident, for an empty queue).
 */
export function worthCompacting (fileBytes: number, live: number): boolean {
  return fileBytes - live >= COMPACT_SLACK_BYTES && fileBytes >= 2 * live
}

/** Writes a compacted copy of the environment (LMDB's copy with MDB_CP_COMPACT) beside it, flushed to disk; returns its data file. */
export async function writeCompactedCopy (root: RootDatabase, path: string): Promise<string> {
  const dir = copyDir(path)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  await root.backup(dir, true)
  const file = join(dir, 'data.mdb')
  fsyncFile(file)
  return file
}

/**
 * Puts the copy in place of the store's data file: one rename, so that a crash leaves either the
 * old file or the copy, each whole (the store took no write since the copy began). The
 * environment must be closed.
 */
export function replaceDataFile (copy: string, path: string): void {
  renameSync(copy, join(path, 'data.mdb'))
  fsyncFile(path)
  rmSync(copyDir(path), { recursive: true, force: true })
}

/** A copy a crash interrupted is of no use: the store itself is whole. */
export function removeStaleCopy (path: string): void {
  rmSync(copyDir(path), { recursive: true, force: true })
}

function fsyncFile (file: string): void {
  const fd = openSync(file, 'r')
  try { fsyncSync(fd) } finally { closeSync(fd) }
}
