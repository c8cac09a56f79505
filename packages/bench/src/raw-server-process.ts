import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Starts one of the raw baselines' server processes (`script`, a file beside this one) and waits
 * for the port it prints on its first line. The caller kills it.
 */
export async function startRawServer (script: string): Promise<{ server: ChildProcess, port: number }> {
  const server = spawn(process.execPath, [fileURLToPath(new URL(`./${script}`, import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      server.once('exit', code => reject(new Error(`${script} exited with ${code}`)))
    })
    return { server, port }
  } catch (err) {
    server.kill()
    throw err
  }
}
