/**
 * The event IDs and log fields that the MTA writes and the checker, the report, the history and
 * the pretty printer read: one table, so that none of them spells a number of its own. The texts
 * are in events.ts; the sources of the IDs are in the domain file (section 5).
 */
export const EVENT = {
  /** MTA Service startup complete (Q174695). */
  started: 9298,
  /** MTA Service closedown complete. */
  stopped: 9299,
  /** No free control blocks for the network type: the Q260167 stop (Q168815). */
  noFreeControlBlocks: 9156,
  /** A bind named no MTA of the site, or a wrong password: a security violation. */
  securityViolation: 9297,
  /** An RPC bind (an open) failed. */
  bindFailed: 9318,
  /** Socket error 10061: connect() refused. */
  connectRefused: 9215,
  /** Lost connections to a locality (a bound association died). */
  lostConnection: 2035,
  /** The peer broke the protocol: a malformed or oversized frame (Q254818). */
  protocolViolated: 4282,
  /** A non-delivery report was generated. */
  nonDelivery: 290,
  /** A queue backed up past its alarm, and subsided under half of it. */
  queueBacklogged: 659,
  queueSubsided: 660,
  /** Under 10 MB free: intake closes (Q181948). */
  diskLow: 9411,
  /** MTACHECK at start-up: not shut down cleanly, a queue rebuilt, the check complete. */
  storeUnclean: 2219,
  queueRebuilt: 2206,
  storeCheckComplete: 2207
} as const

/** Tags of xcon's own lines, which Exchange had no event for (`xcon logs --event leak,action`). */
export const LOG_TAG = {
  /** A control block that a failed association did not give back (the bug itself, which Exchange never logged). */
  leak: 'leak',
  /** What the CLI did to a server: kill, stop, start, restart, pause, resume, partition, heal. */
  action: 'action'
} as const

/** The events a scenario's history keeps from the MTA logs. */
export const HISTORY_EVENT_IDS: readonly number[] = [
  EVENT.noFreeControlBlocks, EVENT.bindFailed, EVENT.connectRefused, EVENT.lostConnection, EVENT.securityViolation,
  EVENT.started, EVENT.stopped, EVENT.nonDelivery, EVENT.queueBacklogged, EVENT.queueSubsided, EVENT.protocolViolated
]
