import { readFileSync } from 'node:fs'
import { sleep } from './durations.js'

export type ProcessState = 'running' | 'paused' | 'down'

/**
 * The state of an MTA process by pid, checked against its command line so that a recycled pid
 * of some other program is never taken for (or signalled as) an MTA.
 */
export function processState (pid: number | null, server: string): ProcessState {
  if (pid === null) return 'down'
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    if (!cmdline.some(a => a.includes('xcon-mta') || a.endsWith('mta/dist/main.js')) || !cmdline.includes(server)) return 'down'
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
export async function waitForExit (pid: number, server: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (processState(pid, server) === 'down') return true
    await sleep(50)
  }
  return processState(pid, server) === 'down'
}
