import { createActor, type Actor } from 'xstate'
import { associationMachine, poolMachine, type MtaConfig, type PoolEmitted } from '@xcon/core'
import { wsTransport, type TransportDeps } from './ws-transport.js'

export type PoolKind = 'site' | 'connector'

/**
 * Creates one control-block pool of an MTA, its associations running over WebSockets. The
 * intra-site pool (network type 5) leaks on builds before SP4 (Q260167); the connector pool
 * (network type 1, X.400 over TCP/IP) never does: the KB says connectors are not affected.
 */
export function createAssociationPool (kind: PoolKind, config: MtaConfig, deps: TransportDeps, onEvent: (e: PoolEmitted) => void): Actor<typeof poolMachine> {
  const transport = wsTransport(deps)
  const machine = poolMachine.provide({ actors: { association: associationMachine.provide({ actors: { transport } }) } })
  const actor = createActor(machine, {
    input: kind === 'site'
      ? { capacity: config.server.controlBlocks, networkType: config.networkType, leakPolicy: config.leakPolicy, seed: config.leakSeed, timing: config.timing }
      : { capacity: config.connectorControlBlocks, networkType: 1, leakPolicy: { leaks: false, kinds: [], probability: 0 }, seed: 0, timing: config.timing }
  })
  actor.on('*', onEvent)
  return actor
}
