import { readFileSync } from 'node:fs'

/**
 * Core-seconds the whole machine has spent busy (user, nice, system, irq, softirq) since boot,
 * from /proc/stat; undefined where there is none. A delta over a measurement counts every
 * process and thread it used (both MTAs, their LMDB write threads, the kernel's loopback work),
 * which is what a rate on a saturated machine is made of.
 */
function machineBusySeconds (): number | undefined {
  let line: string
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
  } catch {
    return undefined
  }
  const [user, nice, system, , , irq, softirq] = line.split(/\s+/).slice(1).map(Number) as number[]
  return (user! + nice! + system! + irq! + softirq!) / 100 // USER_HZ is 100 on Linux
}

/** Starts metering the machine's CPU; `perMessage(n)` is the CPU since then per message, in µs (null without /proc). */
export function startMachineCpu (): { perMessage: (messages: number) => number | null } {
  const before = machineBusySeconds()
  return {
    perMessage: messages => {
      const after = machineBusySeconds()
      return before === undefined || after === undefined ? null : (after - before) / messages * 1e6
    }
  }
}
