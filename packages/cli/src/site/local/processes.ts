import { readFileSync } from 'node:fs'
import { waitUntil } from '../../wait-until.js'

import type { ProcessState } from '../site-backend.js'

export type { ProcessState }

const isMta = (arg: string): boolean => arg.includes('xcon-mta') || arg.endsWith('mta/dist/main.js')
/** The xcon command itself (bin/xcon.js, node_modules/.bin/xcon, dist/main.js): a foreground `xcon up`. */
export const isXconCommand = (arg: string): boolean => /(?:^|\/)xcon(?:\.js)?$/.test(arg) || arg.endsWith('cli/dist/main.js')
/** The links process of `xcon up --links` (links/links-main.ts). */
export const isLinksProcess = (arg: string): boolean => arg.endsWith('links-main.js')

/**
 * The state of an MTA process by pid, checked against its command line so that a recycled pid
 * of some other program is never taken for (or signalled as) an MTA. `marker` is an argument
 * the process was started with: the MTA's server name, the links process's data directory.
 */
export function processState (pid: number | null, marker: string, isOurs: (arg: string) => boolean = isMta): ProcessState {
  if (pid === null) return 'down'
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    if (!cmdline.some(isOurs) || !cmdline.includes(marker)) return 'down'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    if (state === 'Z' || state === 'X') return 'down'
    return state === 'T' || state === 't' ? 'paused' : 'running'
  } catch {
    return 'down'
  }
}

export function signal (pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig) } catch { /* already gone */ }
}

/** Waits until the process has exited; false if it is still there after `timeoutMs`. */
export async function waitForExit (pid: number, marker: string, timeoutMs: number, isOurs?: (arg: string) => boolean): Promise<boolean> {
  return await waitUntil(() => processState(pid, marker, isOurs) === 'down', { timeoutMs, intervalMs: 50 }) === true
}
