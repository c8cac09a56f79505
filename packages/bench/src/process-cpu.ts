import { readFileSync } from 'node:fs'

/** USER_HZ: /proc reports CPU time in clock ticks, 100 per second on Linux. */
const TICKS_PER_SECOND = 100

/** The CPU seconds, user and system, that `pid` has used so far (every thread of it). */
export function cpuUsedSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND // utime + stime
}
