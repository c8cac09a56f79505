/** A directed link the schedule has cut: the associations `from` opens to `to`. */
export interface LinkCut {
  from: string
  to: string
  mode: 'blackhole' | 'refuse'
}

/**
 * The iptables rules (arguments after `-A CHAIN`) that one container needs so that every cut link
 * it takes part in is cut: packets of associations from `from` to `to`'s MTA port are dropped (a
 * black hole: connects and heartbeats time out) or answered with a TCP reset (refused). Both ends
 * get the rules, so a cut holds while either end is up, and a restarted end gets its rules back.
 * Associations the other way (opened by `to`) use `from`'s MTA port and are not matched.
 */
export function linkRules (self: string, cuts: LinkCut[], ips: Record<string, string>, mtaPort: number): string[][] {
  const rules: string[][] = []
  for (const cut of cuts) {
    const target = cut.mode === 'refuse' ? ['-j', 'REJECT', '--reject-with', 'tcp-reset'] : ['-j', 'DROP']
    const port = String(mtaPort)
    if (cut.from === self && ips[cut.to] !== undefined) {
      rules.push(['-p', 'tcp', '-d', ips[cut.to]!, '--dport', port, ...target])
      rules.push(['-p', 'tcp', '-s', ips[cut.to]!, '--sport', port, ...target])
    }
    if (cut.to === self && ips[cut.from] !== undefined) {
      rules.push(['-p', 'tcp', '-s', ips[cut.from]!, '--dport', port, ...target])
      rules.push(['-p', 'tcp', '-d', ips[cut.from]!, '--sport', port, ...target])
    }
  }
  return rules
}
