/**
 * Every error xcon raises on purpose: one class per condition, a stable `code`, and `definite`
 * (true: retrying cannot help, the message is answered with a non-delivery report; false: transient).
 * `closeCode` is the WebSocket close code sent when the error ends an association (4000-4999 is private use).
 * The table of codes is in docs/protocol.md.
 */
export abstract class XconError extends Error {
  abstract readonly code: `XCON_ERR_${string}`
  abstract readonly definite: boolean
  readonly closeCode: number | undefined = undefined
  constructor (message: string) {
    super(message)
    this.name = new.target.name
  }
}

/** Thrown when a build is not one of 1960, 2232, 2448, 2650, 2653 (or their spellings). */
export class InvalidBuildError extends XconError {
  readonly code = 'XCON_ERR_INVALID_BUILD'
  readonly definite = true
  constructor (readonly value: string) {
    super(`unknown Exchange 5.5 build "${value}": use 1960 (RTM), 2232 (SP1), 2448 (SP2), 2650 (SP3), 2653 (SP4), a form like 5.5.2650.24, or sp0-sp4`)
  }
}

/** Thrown when a topology file cannot be used; names the file, the line and the problem. */
export class TopologyError extends XconError {
  readonly code = 'XCON_ERR_TOPOLOGY'
  readonly definite = true
  constructor (readonly file: string, readonly line: number | undefined, readonly problem: string) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${problem}`)
  }
}

/** Thrown when a configuration value (environment or flag) is out of range or malformed. */
export class InvalidConfigError extends XconError {
  readonly code = 'XCON_ERR_CONFIG'
  readonly definite = true
  constructor (readonly setting: string, problem: string) {
    super(`${setting}: ${problem}`)
  }
}

/** Thrown when a server name is not in the topology. */
export class UnknownServerError extends XconError {
  readonly code = 'XCON_ERR_UNKNOWN_SERVER'
  readonly definite = true
  constructor (readonly server: string, known: readonly string[]) {
    super(`unknown MTA "${server}": the site has ${known.join(', ')}`)
  }
}

/** Thrown when an address is not `alias@SERVER` (or names no server of the organisation). */
export class InvalidAddressError extends XconError {
  readonly code = 'XCON_ERR_INVALID_ADDRESS'
  readonly definite = true
  constructor (readonly address: string, problem: string) {
    super(`invalid address "${address}": ${problem}`)
  }
}

/** Thrown when a frame cannot be decoded or does not have the shape of its type. */
export class MalformedFrameError extends XconError {
  static readonly CODE = 'XCON_ERR_MALFORMED_FRAME'
  readonly code = MalformedFrameError.CODE
  readonly definite = true
  override readonly closeCode = 4400
}

/** Thrown when a frame is larger than the association's frame limit. */
export class FrameTooLargeError extends XconError {
  readonly code = 'XCON_ERR_FRAME_TOO_LARGE'
  readonly definite = true
  override readonly closeCode = 1009
  constructor (readonly bytes: number, readonly limit: number) {
    super(`frame of ${bytes} bytes exceeds the limit of ${limit} bytes`)
  }
}

/** Thrown on a bind whose proof does not match the site's service-account secret (event 9297). */
export class SecurityViolationError extends XconError {
  readonly code = 'XCON_ERR_SECURITY_VIOLATION'
  readonly definite = true
  override readonly closeCode = 4401
}

/** Thrown on a bind from an MTA of another site, or one the site does not list. */
export class WrongSiteError extends XconError {
  readonly code = 'XCON_ERR_WRONG_SITE'
  readonly definite = true
  override readonly closeCode = 4403
}

/**
 * Raised on a bind from a peer, or a challenge from a listener, that speaks another version of the
 * association protocol (docs/protocol.md): the association is refused before any mail moves.
 */
export class ProtocolVersionError extends XconError {
  readonly code = 'XCON_ERR_PROTOCOL_VERSION'
  readonly definite = true
  override readonly closeCode = 4426
  constructor (readonly peer: string, readonly theirs: number, readonly ours: number) {
    super(`${peer} speaks association protocol version ${theirs}; this MTA speaks version ${ours} only`)
  }
}

/**
 * A transfer of several messages that the peer refused as too large for its frame limit (1009):
 * its messages go again one per transfer, so that only one too large by itself is answered.
 */
export class BatchTooLargeError extends XconError {
  readonly code = 'XCON_ERR_BATCH_TOO_LARGE'
  readonly definite = false
  constructor (readonly peer: string, readonly messages: number, readonly bytes: number) {
    super(`${peer} refused a transfer of ${messages} messages (${bytes} bytes) as too large (1009); they go again one per transfer`)
  }
}

/** Raised when no control block is free to open an association (event 9156). */
export class ControlBlocksExhaustedError extends XconError {
  readonly code = 'XCON_ERR_NO_CONTROL_BLOCKS'
  readonly definite = false
  override readonly closeCode = 4503
  constructor (readonly networkType: number, readonly configured: number) {
    super(`no free control blocks available for network type ${networkType}; the configured count is ${configured}`)
  }
}

/** Raised when an MTA that is closing down is asked to open or accept an association. */
export class ShuttingDownError extends XconError {
  readonly code = 'XCON_ERR_SHUTTING_DOWN'
  readonly definite = false
  override readonly closeCode = 1001
  constructor () { super('the MTA is closing down') }
}

/**
 * Raised for an inbound caller while every place for callers still binding is taken by callers
 * within their bind grace, and it has waited a bind timeout (docs/protocol.md, Strangers).
 */
export class CallersBindingError extends XconError {
  readonly code = 'XCON_ERR_CALLERS_BINDING'
  readonly definite = false
  override readonly closeCode = 4429
  constructor (detail: string) { super(`inbound associations still binding: ${detail}`) }
}

/** Returned by a receiver that could not store a transfer (for example a full disk); the sender retries. */
export class StoreFailedError extends XconError {
  readonly code = 'XCON_ERR_STORE_FAILED'
  readonly definite = false
}

/** Raised for transfers in flight when their association ends; the message stays queued and is sent again. */
export class AssociationLostError extends XconError {
  readonly code = 'XCON_ERR_ASSOCIATION_LOST'
  readonly definite = false
}

/** Raised when a peer does not acknowledge a transfer in time; counts as a failed transfer. */
export class TransferTimeoutError extends XconError {
  readonly code = 'XCON_ERR_TRANSFER_TIMEOUT'
  readonly definite = false
  constructor (readonly peer: string, messages: ReadonlyArray<{ envelope: { mtsId: string } }>, readonly timeoutMs: number) {
    super(`${peer} did not acknowledge a transfer of ${messages.length} (${messages[0]?.envelope.mtsId ?? 'no message'}…) within ${timeoutMs} ms`)
  }
}

/** Raised for a message larger than the configured maximum message size, at any door. */
export class MessageTooLargeError extends XconError {
  readonly code = 'XCON_ERR_MESSAGE_TOO_LARGE'
  readonly definite = true
  constructor (readonly bytes: number, readonly limit: number | undefined, what = 'message') {
    super(`${what} of ${bytes} bytes is larger than ${limit === undefined ? 'the peer takes' : `the maximum message size of ${limit} bytes`}`)
  }
}

/** Raised for a message with more recipients than the configured limit. */
export class TooManyRecipientsError extends XconError {
  readonly code = 'XCON_ERR_TOO_MANY_RECIPIENTS'
  readonly definite = true
  constructor (readonly count: number, readonly limit: number) {
    super(`${count} recipients is more than the limit of ${limit} per message`)
  }
}

/**
 * Raised while the MTA takes no new mail because its store's disk is (nearly) full (event 9411).
 * Not definite: the sender keeps the message and tries again once there is room.
 */
export class DiskFullError extends XconError {
  /** The code, for reading a peer's refusal (a transfer outcome carries the code, not the error). */
  static readonly CODE = 'XCON_ERR_DISK_FULL'
  readonly code = DiskFullError.CODE
  readonly definite = false
  constructor (detail: string) {
    super(`the MTA is not taking new mail: ${detail}`)
  }
}

/** Raised by the admin API for a request without the admin token it asks for. */
export class UnauthorizedError extends XconError {
  readonly code = 'XCON_ERR_UNAUTHORIZED'
  readonly definite = true
  constructor () {
    super('this admin API asks for a token: send "Authorization: Bearer <token>" (XCON_ADMIN_TOKEN)')
  }
}

/**
 * Errors of the Toxiproxy-compatible link API (docs/links.md). The messages and HTTP statuses
 * are Toxiproxy's own (its api.go), so that its clients read them as they read Toxiproxy's; the
 * API answers `{ "error": message, "status": status }` and adds a `hint` where xcon knows more.
 */
export abstract class LinkApiError extends XconError {
  abstract readonly status: number
  readonly definite = true
  constructor (message: string, readonly hint?: string) {
    super(message)
  }
}

/** A proxy name that is no link of the site (Toxiproxy: 404 "proxy not found"). */
export class ProxyNotFoundError extends LinkApiError {
  readonly code = 'XCON_ERR_PROXY_NOT_FOUND'
  readonly status = 404
  constructor (readonly proxy: string, known: readonly string[]) {
    super('proxy not found', `no link is named "${proxy}"; the links are ${known.slice(0, 12).join(', ')}${known.length > 12 ? ', …' : ''} (GET /proxies)`)
  }
}

/** A proxy that exists already (Toxiproxy: 409 "proxy already exists"). */
export class ProxyExistsError extends LinkApiError {
  readonly code = 'XCON_ERR_PROXY_EXISTS'
  readonly status = 409
  constructor (readonly proxy: string) {
    super('proxy already exists', `"${proxy}" is a link of the site; change it with POST /proxies/${proxy}`)
  }
}

/** A toxic name that the proxy does not have (Toxiproxy: 404 "toxic not found"). */
export class ToxicNotFoundError extends LinkApiError {
  readonly code = 'XCON_ERR_TOXIC_NOT_FOUND'
  readonly status = 404
  constructor (readonly toxic: string) {
    super('toxic not found', `no toxic "${toxic}" here (GET /proxies/{proxy}/toxics lists them)`)
  }
}

/** A toxic name that the proxy has already (Toxiproxy: 409 "toxic already exists"). */
export class ToxicExistsError extends LinkApiError {
  readonly code = 'XCON_ERR_TOXIC_EXISTS'
  readonly status = 409
  constructor (readonly toxic: string) {
    super('toxic already exists', `remove "${toxic}" first, or give the new toxic another name`)
  }
}

/** A request body that is not what the call takes (Toxiproxy: 400 "bad request body: ..."). */
export class BadRequestBodyError extends LinkApiError {
  readonly code = 'XCON_ERR_BAD_REQUEST_BODY'
  readonly status = 400
  constructor (problem: string) {
    super(`bad request body: ${problem}`)
  }
}

/** A required field left out (Toxiproxy: 400 "missing required field: ..."). */
export class MissingFieldError extends LinkApiError {
  readonly code = 'XCON_ERR_MISSING_FIELD'
  readonly status = 400
  constructor (readonly field: string) {
    super(`missing required field: ${field}`)
  }
}

/** A toxic's stream that is neither upstream nor downstream (nor xcon's "both"). */
export class InvalidStreamError extends LinkApiError {
  readonly code = 'XCON_ERR_INVALID_STREAM'
  readonly status = 400
  constructor (readonly stream: string) {
    super('stream was invalid, can be either upstream or downstream', `got "${stream}"; xcon also takes "both" (one toxic on both streams)`)
  }
}

/** A toxic type that xcon does not have (Toxiproxy: 400 "invalid toxic type"). */
export class InvalidToxicTypeError extends LinkApiError {
  readonly code = 'XCON_ERR_INVALID_TOXIC_TYPE'
  readonly status = 400
  constructor (readonly type: string, known: readonly string[]) {
    super('invalid toxic type', `got "${type}"; the types are ${known.join(', ')}`)
  }
}

/** A request body over the link API's limit (413). */
export class RequestTooLargeError extends LinkApiError {
  readonly code = 'XCON_ERR_REQUEST_TOO_LARGE'
  readonly status = 413
  constructor (readonly limit: number) {
    super(`request body too large: at most ${limit} bytes`)
  }
}

/**
 * A change the site's links cannot take: a proxy that is no directed link between two of its
 * MTAs, a link's deletion, a new upstream. xcon's proxies are the site's links, so Toxiproxy's
 * free-form proxies have no meaning here (403).
 */
export class NotALinkError extends LinkApiError {
  readonly code = 'XCON_ERR_NOT_A_LINK'
  readonly status = 403
  constructor (problem: string) {
    super(`xcon serves one proxy per directed link of the site: ${problem}`)
  }
}

/** Thrown when a game day names an incident the catalogue does not have, or one its site cannot show. */
export class UnknownIncidentError extends XconError {
  readonly code = 'XCON_ERR_UNKNOWN_INCIDENT'
  readonly definite = true
}

/** The close codes an association may end with, and what each tells the other side. */
export const CLOSE_CODES = {
  1000: 'released',
  1001: 'closing down',
  1009: 'frame too large',
  4400: 'malformed frame',
  4401: 'security violation',
  4403: 'wrong site',
  4426: 'association protocol version not spoken',
  4429: 'too many callers still binding',
  4503: 'no free control blocks'
} as const

/** The close codes with which a listener refuses a bind: the caller counts its failure as bind-rejected. */
export const BIND_REFUSAL_CODES: ReadonlySet<number> = new Set([1001, 4401, 4403, 4426, 4503])
