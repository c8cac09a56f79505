import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
import { parse as parseYaml } from 'yaml'
import { CliError } from '../../cli-error.js'

const run = promisify(execFile)

/** One MTA service of a compose file: its service name and the server and site its labels name. */
export interface ServiceInfo { service: string, server: string, site: string }

/** The service of a server, named as the user typed it (SRV-A, srv-a, or the service name); an unknown one lists the known. */
export function findService (services: ServiceInfo[], name: string): ServiceInfo {
  const found = services.find(s => s.server.toUpperCase() === name.toUpperCase() || s.service === name.toLowerCase())
  if (found === undefined) throw new CliError(`unknown MTA "${name}": the site has ${services.map(s => s.server).join(', ')}`, 2)
  return found
}

type ComposeConfig = { name?: string, services?: Record<string, { labels?: Record<string, string> | string[], extends?: unknown }> }

function fromConfig (config: ComposeConfig): ServiceInfo[] {
  const services: ServiceInfo[] = []
  for (const [service, spec] of Object.entries(config.services ?? {})) {
    const labels = Array.isArray(spec.labels)
      ? Object.fromEntries(spec.labels.map(l => l.split('=', 2) as [string, string]))
      : spec.labels ?? {}
    if (labels['xcon.server'] !== undefined) services.push({ service, server: labels['xcon.server'], site: labels['xcon.site'] ?? '-' })
  }
  return services
}

/**
 * The MTA services of a compose file and its top-level name. The file is read as YAML first
 * (a few milliseconds); only when its labels use variables or a service extends another does
 * `compose config` resolve it, which costs most of a second with docker-compose v1. xcon always
 * passes -f, so no override file is merged in either case.
 */
export async function readComposeServices (file: string, composeCommand: () => Promise<string[]>, env: NodeJS.ProcessEnv): Promise<{ services: ServiceInfo[], name: string | undefined }> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`)
  }
  try {
    const raw = parseYaml(text, { merge: true }) as ComposeConfig | null
    const plain = raw !== null && typeof raw === 'object' && !Object.values(raw.services ?? {}).some(s => s?.extends !== undefined) &&
      !JSON.stringify(Object.values(raw.services ?? {}).map(s => s?.labels ?? null)).includes('${')
    if (plain) {
      const services = fromConfig(raw)
      if (services.length > 0) return { services, name: typeof raw.name === 'string' && !raw.name.includes('${') ? raw.name : undefined }
    }
  } catch { /* not plain YAML to us: let compose say what is wrong with it */ }
  let config: ComposeConfig
  const composeCmd = await composeCommand()
  try {
    const { stdout } = await run(composeCmd[0]!, [...composeCmd.slice(1), '-f', file, 'config'], { cwd: dirname(file), env })
    config = parseYaml(stdout) as ComposeConfig
  } catch (err) {
    throw new CliError(`${file}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
  }
  return { services: fromConfig(config), name: config.name }
}
