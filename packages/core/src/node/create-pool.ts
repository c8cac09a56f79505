import { createActor, type Actor, type CallbackActorLogic } from 'xstate'
import { associationMachine, type TransportCommand, type TransportInput } from '../association/association.machine.js'
import type { MtaConfig } from '../config/mta-config.js'
import type { PoolEmitted } from '../pool/pool.events.js'
import { poolMachine } from '../pool/pool.machine.js'
import type { PoolKind } from './pool-events.js'
import type { Clock } from '../ports.js'

/** What carries an association: a WebSocket in the shell, an in-memory link in the simulator. */
export type TransportLogic = CallbackActorLogic<TransportCommand, TransportInput>

/**
 * Creates one control-block pool of an MTA, its associations running over `transport`. The
 * intra-site pool (network type 5) leaks on builds before SP4 (Q260167); the connector pool
 * (network type 1, X.400 over TCP/IP) never does: the KB says connectors are not affected.
 */
export function createPool (kind: PoolKind, config: MtaConfig, transport: TransportLogic, clock: Clock, onEvent: (e: PoolEmitted) => void): Actor<typeof poolMachine> {
  const machine = poolMachine.provide({ actors: { association: associationMachine.provide({ actors: { transport } }) } })
  const actor = createActor(machine, {
    input: kind === 'site'
      ? { capacity: config.server.controlBlocks, networkType: config.networkType, leakPolicy: config.leakPolicy, seed: config.leakSeed, timing: config.timing }
      : { capacity: config.connectorControlBlocks, networkType: 1, leakPolicy: { leaks: false, kinds: [], probability: 0 }, seed: 0, timing: config.timing },
    clock: { setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: id => { clock.clearTimeout(id) } }
  })
  actor.on('*', onEvent)
  return actor
}
