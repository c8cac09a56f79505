import { InvalidBuildError } from './errors.js'

/** Exchange 5.5 builds (Q158530, Q191014). SP4 first fixed Q260167. */
export const BUILDS = {
  1960: { name: 'RTM', servicePack: 0 },
  2232: { name: 'SP1', servicePack: 1 },
  2448: { name: 'SP2', servicePack: 2 },
  2650: { name: 'SP3', servicePack: 3 },
  2653: { name: 'SP4', servicePack: 4 }
} as const

export type Build = keyof typeof BUILDS
export const DEFAULT_BUILD: Build = 2650
const SP_TO_BUILD: Record<string, Build> = { rtm: 1960, sp0: 1960, sp1: 2232, sp2: 2448, sp3: 2650, sp4: 2653 }

/**
 * Reads a build as users write it: `2650`, `5.5.2650.24`, `2650.24`, `sp3`, `SP4`, `rtm`.
 * @throws InvalidBuildError naming the value and the accepted forms.
 */
export function parseBuild (value: unknown): Build {
  const text = String(value).trim().toLowerCase()
  const bySp = SP_TO_BUILD[text]
  if (bySp !== undefined) return bySp
  const match = /^(?:5\.5\.)?(\d{4})(?:\.\d+)?$/.exec(text)
  if (match !== null) {
    const n = Number(match[1])
    if (n in BUILDS) return n as Build
  }
  throw new InvalidBuildError(String(value))
}

/** True for builds before SP4, which leak connection resources (Q260167: "first corrected in SP4"). */
export function leaksConnectionResources (build: Build): boolean {
  return BUILDS[build].servicePack < 4
}

/** "5.5 (build 2650)": the version string of events 9298/9299. */
export function versionText (build: Build): string {
  return `version 5.5 (build ${build})`
}
