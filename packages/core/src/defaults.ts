/**
 * Exchange 5.5 MTA defaults, each with its source in `shared/domain/exchange-5.5-mta.md`.
 * Durations are in Exchange seconds; the MTA divides them by its time scale (see `scaleSeconds`).
 */

/**
 * `TCP/IP control blocks` registry default: one CB per association plus one to listen.
 * CONFIRMED (Q243632, Q166602). xcon applies the same default to the intra-site (type 5) pool,
 * whose real count the KB never gives (NOT FOUND: design choice).
 */
export const CONTROL_BLOCKS = 20
/** Control blocks held by the listener for as long as the MTA runs. CONFIRMED (Q243632: "plus one to listen"). */
export const LISTEN_CONTROL_BLOCKS = 1
/** The fewest control blocks that can work: one listens (Q168815). */
export const MIN_CONTROL_BLOCKS = 2
/** The most: the TCP/IP control-block ceiling (Q243632). */
export const MAX_CONTROL_BLOCKS = 1210

/** Whether `n` is a number of control blocks an MTA can have: a whole number from 2 to 1,210. */
export function isControlBlockCount (n: number): boolean {
  return Number.isInteger(n) && n >= MIN_CONTROL_BLOCKS && n <= MAX_CONTROL_BLOCKS
}
/** Network type of the intra-site RPC transport, printed in event 9156. CONFIRMED (Q168815: 5 = RPC). */
export const NETWORK_TYPE_RPC = 5
/** Network type of X.400 over TCP/IP. CONFIRMED (Q168815: 1 = TCP/IP RFC1006). */
export const NETWORK_TYPE_TCPIP = 1

/** Connection retry values, MTA Site Configuration, Messaging Defaults. */
/** Open interval (s). CONFIRMED in the Exchange 2000/2003 X.400 docs for the same MTA. */
export const OPEN_INTERVAL_S = 600
/** Max open retries before a non-delivery report. CONFIRMED (55docs/xog06019). 144 x 600 s = 24 h (DERIVED). */
export const MAX_OPEN_RETRIES = 144
/** Transfer interval (s). CONFIRMED in the Exchange 2000/2003 docs. */
export const TRANSFER_INTERVAL_S = 120
/** Max transfer retries. CONFIRMED (55docs/xog06019). */
export const MAX_TRANSFER_RETRIES = 2
/** Association disconnect (s): how long an idle association is kept. CONFIRMED (Q193894). */
export const ASSOCIATION_DISCONNECT_S = 120

/**
 * One real second is `TIME_SCALE` MTA seconds: at 600 an open interval of 600 s passes in 1 s,
 * so a day of open retries (144 x 600 s) passes in 144 s. Design choice.
 */
export const TIME_SCALE = 600

/**
 * Queue backlog alarm for events 659/660. Q163085 says the alarm is off unless set; xcon turns it on
 * at 50 messages (the association threshold of Q194589) so a backlog is visible. Design choice.
 */
export const QUEUE_ALARM = 50

/**
 * Leak model defaults (NOT FOUND in any KB: design choice, see docs/leak-model.md).
 * A pre-SP4 MTA keeps the control block of a failed association attempt with this probability.
 */
export const LEAK_PROBABILITY = 0.5

/** Real-time limits of the emulation itself, not Exchange values (they are not scaled). */
export const OPEN_TIMEOUT_MS = 3_000
export const BIND_TIMEOUT_MS = 3_000
export const HEARTBEAT_INTERVAL_MS = 1_000
export const HEARTBEAT_TIMEOUT_MS = 2_000
export const RELEASE_TIMEOUT_MS = 1_000
/** How long a sender waits for a transfer's acknowledgement before it counts as a failed transfer (not an Exchange value; the process and the simulator share it). */
export const TRANSFER_ACK_TIMEOUT_MS = 30_000
/**
 * Largest message (content) the MTA takes at any door: the admin API, the IMS (SMTP SIZE) and a
 * transfer. Exchange 5.5's MTA Site Configuration had no limit unless set (NOT FOUND as a number):
 * design choice, 4 MiB, the admin API's old body limit. XCON_MAX_MESSAGE_BYTES changes it.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
/** Room in a transfer frame for the envelope beside the content: recipients, trace, subject. */
export const ENVELOPE_HEADROOM_BYTES = 1024 * 1024
/** Largest frame accepted on an association: one message of the largest size and its envelope. */
export const MAX_FRAME_BYTES = MAX_MESSAGE_BYTES + ENVELOPE_HEADROOM_BYTES
/**
 * Most recipients of one message (NOT FOUND for Exchange 5.5, which had no default limit):
 * design choice. 1,000 addresses of at most 256 characters fit the envelope headroom.
 */
export const MAX_RECIPIENTS = 1000
/** Most hops a message may make before it is taken for a loop (X.411 diagnostic loop-detected). Design choice. */
export const MAX_HOPS = 16

/** Longest subject an envelope carries; a longer one is cut at submission. Design choice. */
export const MAX_SUBJECT_LENGTH = 4096
/** Longest address (RFC 5321's path limit, 256 octets). */
export const MAX_ADDRESS_LENGTH = 256
/** Content bytes in flight on one association, besides the message count of the window: big mail cannot pile up. */
export const TRANSFER_WINDOW_BYTES = 16 * 1024 * 1024
/**
 * Messages in flight on one association before the sender waits for acknowledgements. Each
 * acknowledgement waits for the receiver's commit, so throughput is about window / round trip.
 * With one message per transfer, 64 gave 4,000 msg/s of 1 KiB here, 256 gave 6,600. With transfers
 * of 256, 1,024 gave 6,900 msg/s (round trips of 70-140 ms), 4,096 gave 9,200, 8,192 no more
 * (npm run bench). Design choice.
 */
export const TRANSFER_WINDOW = 4096
/**
 * Messages and content bytes in one transfer, whichever is reached first (XCON_TRANSFER_BATCH,
 * XCON_TRANSFER_BATCH_BYTES). An Exchange MTA moved many messages over an association between
 * RTS checkpoints, and acknowledged the run; NOT FOUND how many, so these are design choices
 * (npm run bench). A transfer goes as soon as the window has room, so at low rates it holds one message.
 */
export const TRANSFER_BATCH = 256
export const TRANSFER_BATCH_BYTES = 1024 * 1024
/** The most messages a received transfer may hold (a larger one is a malformed frame). */
export const MAX_TRANSFER_MESSAGES = 1024

/**
 * Connection limits of the association port (design choices, all configurable): enough for a
 * 100-MTA site on loopback, where every peer comes from 127.0.0.1, and far below the default
 * 1,024 open files of a process.
 */
export const MAX_CONNECTIONS = 800
export const MAX_CONNECTIONS_PER_ADDRESS = 400
/** Outbound associations one MTA connects or binds at a time (NOT FOUND; design choice, see PoolInput.maxOpening in pool.machine.ts). */
export const MAX_OPENING = 8
/** Inbound associations from one address that have not bound yet. Design choice. */
export const MAX_UNBOUND_PER_ADDRESS = 16
/**
 * How long a caller that has not bound keeps its place against newer callers when a limit is
 * full (CallerLimits). A real peer binds within milliseconds of connecting; a third of the bind
 * timeout spares one on a machine too busy to answer at once. Design choice (issue #30).
 */
export const BIND_GRACE_MS = 1_000
/**
 * Free space below which the MTA takes no new mail. Exchange's MTA shut down below 10 MB on the
 * MTADATA disk (event 9411, Q181948); xcon keeps running and refuses intake instead.
 */
export const MIN_FREE_BYTES = 10 * 1024 * 1024

/** Converts an Exchange duration in seconds to real milliseconds under a time scale. */
export function scaleSeconds (seconds: number, timeScale: number): number {
  return (seconds * 1000) / timeScale
}
