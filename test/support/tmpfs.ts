import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'

/** Mounting a small tmpfs needs root (CI and these machines have it). */
export const canMountTmpfs = ((): boolean => {
  if (process.getuid?.() !== 0) return false
  const probe = `/tmp/xcon-mount-probe-${process.pid}`
  try {
    mkdirSync(probe, { recursive: true })
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe])
    execFileSync('umount', [probe])
    return true
  } catch { return false } finally { rmSync(probe, { recursive: true, force: true }) }
})()

const mounts: string[] = []

/** A real disk of `size` (for example '24m') at `dir`, made if missing; unmountTmpfs() removes it. */
export function mountTmpfs (dir: string, size: string): void {
  mkdirSync(dir, { recursive: true })
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  mounts.push(dir)
}

/** For afterEach: lazily, so that a process still holding files there cannot keep the directory busy. */
export function unmountTmpfs (): void {
  for (const m of mounts.splice(0)) { try { execFileSync('umount', ['-l', m]) } catch { /* not mounted */ } }
}
