/**
 * The benchmark entry (`npm run bench`): runs each benchmark module in turn.
 * A module default-exports `(argv) => Promise<void>`; add new ones to BENCHES.
 *
 *   node --import tsx bench/run.ts [name ...]   (default: all)
 * @module
 */
const BENCHES: Record<string, () => Promise<{ default: (argv: readonly string[]) => Promise<void> }>> = {
  pingpong: () => import('./pingpong.js'),
  rpc: () => import('./rpc.js'),
}

const wanted = process.argv.slice(2)
const names = wanted.length > 0 ? wanted : Object.keys(BENCHES)
for (const name of names) {
  const load = BENCHES[name]
  if (load === undefined) {
    console.error(`unknown bench ${name}; known: ${Object.keys(BENCHES).join(', ')}`)
    process.exit(2)
  }
  console.log(`\n== ${name} ==`)
  await (await load()).default([])
}
