/**
 * The entry point every bench peer process shares: `<script> <role> '<json config>'`
 * runs that role with its parsed config and exits 0 when it is done, 1 when
 * it fails, 2 on a wrong command line.
 * @module
 */

/** What a peer can be asked to be, each taking its JSON config. */
export type PeerRoles = Record<string, (config: never) => Promise<void>>

/** Runs the role that `process.argv` names. `script` names the peer in the usage line. */
export function runPeerRole(script: string, roles: PeerRoles): void {
  const [role, json] = process.argv.slice(2)
  const run = roles[role ?? '']
  if (run === undefined || json === undefined) {
    console.error(`usage: ${script} ${Object.keys(roles).join('|')} '<json config>'`)
    process.exit(2)
  }
  run(JSON.parse(json) as never).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
}
