import { versionText, type Build } from './builds.js'
import { EVENT } from './log-schema.js'

/**
 * MSExchangeMTA events xcon logs, with the IDs, types, categories and wording of the KB articles
 * (shared/domain/exchange-5.5-mta.md, section 5). Bracketed trace tags are invented in the KB's style.
 * Each creator returns the fields of one log line; the MTA adds server, site and time.
 */
export type EventType = 'Information' | 'Warning' | 'Error'
/** Diagnostic logging categories of MSExchangeMTA (55docs/xmtaa007, Q163032). */
export type Category =
  | 'X.400 Service' | 'Resource' | 'Security' | 'Interface' | 'Field Engineering'
  | 'MTA Administration' | 'Configuration' | 'Directory Access' | 'Operating System'
  | 'Internal Processing' | 'Interoperability' | 'APDU'

export interface MtaEvent {
  eventId: number
  type: EventType
  category: Category
  text: string
}

/** The distinguished name of an MTA, as 9297 and 659 print it. */
export function mtaDn (org: string, site: string, server: string): string {
  return `/o=${org}/ou=${site}/cn=Configuration/cn=Servers/cn=${server}/cn=Microsoft MTA`
}

/** 9298: the MTA is ready (Q174695). */
export function serviceStarted (build: Build): MtaEvent {
  return { eventId: EVENT.started, type: 'Information', category: 'X.400 Service', text: `Microsoft Exchange Server MTA Service startup complete, ${versionText(build)}.` }
}

/** 9299: the MTA has closed down (Q174695). */
export function serviceStopped (build: Build): MtaEvent {
  return { eventId: EVENT.stopped, type: 'Information', category: 'X.400 Service', text: `Microsoft Exchange Server MTA Service closedown complete, ${versionText(build)}.` }
}

/** 9156: no control block is free (Q230497, Q229643, Q193894). */
export function noFreeControlBlocks (networkType: number, configured: number): MtaEvent {
  return {
    eventId: EVENT.noFreeControlBlocks,
    type: 'Warning',
    category: 'Resource',
    text: `A resource limit has been reached while attempting to open an association. There are no free control blocks available for network type ${networkType}. The configured count is ${configured}. [BASE IL MAIN BASE 1 282] (10)`
  }
}

/** 9297: a bind proved the wrong service-account secret (Q152624). */
export function securityViolation (dn: string, ltab: number): MtaEvent {
  return { eventId: EVENT.securityViolation, type: 'Warning', category: 'Security', text: `The user ${dn} has caused a security violation. Locality table (LTAB) index: ${ltab}. Windows NT error code: 0.` }
}

/** 9318: an intra-site bind failed; 1722 is "RPC server unavailable" (Q170056, Q303156). */
export function rpcBindFailed (ltab: number, remoteServer: string, reason: string): MtaEvent {
  return {
    eventId: EVENT.bindFailed,
    type: 'Warning',
    category: 'Interface',
    text: `An RPC communications error occurred. Unable to bind over RPC. Locality Table (LTAB) index: ${ltab}, NT/MTA error code: 1722. Comms error 1722, Bind error 1722, Remote Server Name ${remoteServer} (${reason}) [BASE IL OUTGOING RPC 20 500]`
  }
}

/** 9215: connect() was refused, socket error 10061 (Q170056). */
export function socketConnectRefused (controlBlock: number): MtaEvent {
  return {
    eventId: EVENT.connectRefused,
    type: 'Warning',
    category: 'Operating System',
    text: `A sockets error 10061 on a connect() call was detected. The MTA will attempt to recover the sockets connection. Control block index: ${controlBlock}.`
  }
}

/** 2035: a bound association was lost (Q232602). */
export function lostConnection (ltab: number, remoteServer: string, reason: string): MtaEvent {
  return { eventId: EVENT.lostConnection, type: 'Warning', category: 'X.400 Service', text: `Lost connections to locality ${ltab} (${remoteServer}): ${reason}.` }
}

/** 4282: the peer broke the protocol, here a malformed or oversized frame (Q254818). */
export function protocolViolated (controlBlock: number, reason: string): MtaEvent {
  return {
    eventId: EVENT.protocolViolated,
    type: 'Warning',
    category: 'Interoperability',
    text: `An interoperability error occurred. Interface protocol was violated. Error code=8453, Control Block index=${controlBlock}. ${reason}`
  }
}

/** 659: a queue passed the backlog alarm (Q163085). */
export function queueBacklogged (dn: string, depth: number): MtaEvent {
  return { eventId: EVENT.queueBacklogged, type: 'Warning', category: 'Resource', text: `The queue for ${dn} is backlogged with ${depth} messages.` }
}

/** 660: a backlogged queue fell back under the alarm (Q163085). */
export function queueSubsided (dn: string, depth: number): MtaEvent {
  return { eventId: EVENT.queueSubsided, type: 'Warning', category: 'Resource', text: `The queue for ${dn} backlog has subsided leaving ${depth} messages.` }
}

/** 290: a non-delivery report was generated (Q230497, Q254818). */
export function nonDeliveryGenerated (mtsId: string, reason: string, diagnostic: string): MtaEvent {
  return {
    eventId: EVENT.nonDelivery,
    type: 'Warning',
    category: 'X.400 Service',
    text: `A non-delivery report with a reason code of ${reason} and diagnostic code of ${diagnostic} was generated for message ${mtsId}.`
  }
}

/**
 * 9411: the MTADATA disk is nearly full (Q181948). Exchange's MTA terminated; xcon keeps running,
 * delivers what it holds and refuses new mail until there is room again (design choice, noted in
 * the text so that nobody reads the line as a stop).
 */
export function diskNearlyFull (freeBytes: number, minFreeBytes: number): MtaEvent {
  const mb = (n: number): string => (n / (1024 * 1024)).toFixed(1)
  return {
    eventId: EVENT.diskLow,
    type: 'Error',
    category: 'Field Engineering',
    text: `The MTA is terminating because the disk where MTADATA is located has less than ${mb(minFreeBytes)} MB of space (${mb(freeBytes)} MB free). [xcon: the MTA keeps running and delivering queued mail, but takes no new mail until space returns.]`
  }
}

/** 2219: the MTA checks its database after an unclean stop, as MTACHECK does (Q163295; text written in the KB's style). */
export function storeCheckStarted (): MtaEvent {
  return { eventId: EVENT.storeUnclean, type: 'Warning', category: 'Field Engineering', text: 'The MTA was not shut down cleanly. The MTA database is being checked for consistency (MTACHECK).' }
}

/** 2206: one queue was rebuilt by the check (Q163295; text in the style of MTACHECK's log lines). */
export function queueRebuilt (queue: string, messages: number): MtaEvent {
  return { eventId: EVENT.queueRebuilt, type: 'Information', category: 'Field Engineering', text: `Queue '${queue}' required reconstruction - ${messages} messages recovered to the queue.` }
}

/** 2207: the database check is complete (Q163295; text in the KB's style). */
export function storeCheckComplete (queues: number, messages: number, removed: number): MtaEvent {
  return {
    eventId: EVENT.storeCheckComplete,
    type: 'Information',
    category: 'Field Engineering',
    text: `The MTA database check is complete: ${queues} queues, ${messages} messages recovered, ${removed} damaged objects moved to mtacheck.out.`
  }
}
