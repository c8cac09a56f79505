/**
 * How a hint names the command, so that it works when typed as printed: the README runs xcon as
 * `npx xcon` from the clone (npm puts the workspace's bin in node_modules/.bin), and nothing puts
 * `xcon` itself on the PATH.
 */
export const XCON = 'npx xcon'

/** A word as a POSIX shell reads it back: quoted only when it must be. */
export const shellWord = (w: string): string => /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`
