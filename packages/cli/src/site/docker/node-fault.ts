import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CliError } from '../../cli-error.js'
import type { SwarmNode } from './swarm-nodes.js'

const run = promisify(execFile)

/** The script that makes the second node, and powers it off and on (from packages/cli/dist/site/docker/). */
export const TWO_NODE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..', 'scripts', 'two-node-swarm.sh')

/** What scripts/two-node-swarm.sh writes for the node it made (its run directory is /run/NAME). */
const madeFile = (hostname: string): string => `/run/${hostname}/made`

/**
 * Powers a node off (`fail`: every process of it killed at once) or on again (`restore`: its
 * engine boots and rejoins the swarm). Only a node made by scripts/two-node-swarm.sh: xcon has
 * no hand on a machine's power, and this machine's own engine runs the manager and the CLI.
 */
export async function nodeFault (kind: 'fail' | 'restore', node: SwarmNode): Promise<void> {
  if (node.self) {
    throw new CliError(`${node.hostname} is this machine's own Docker engine (the swarm's manager): xcon fails only a node made by scripts/two-node-swarm.sh`, 2)
  }
  if (!existsSync(madeFile(node.hostname))) {
    throw new CliError(`${node.hostname} was not made by scripts/two-node-swarm.sh on this machine, so xcon cannot power it off and on; on a machine of your own, stop its engine or its network, and Swarm sees the same`, 2)
  }
  if (!existsSync(TWO_NODE_SCRIPT)) throw new CliError(`${TWO_NODE_SCRIPT} is missing: fail-node and restore-node run it, from the xcon clone`)
  try {
    await run('bash', [TWO_NODE_SCRIPT, kind], { env: { ...process.env, XCON_NODE_NAME: node.hostname }, timeout: 120_000 })
  } catch (err) {
    throw new CliError(`${kind}-node ${node.hostname}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`)
  }
}
