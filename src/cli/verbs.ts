/**
 * Loads every verb of the command line (each registers itself).
 * @module
 */
import './verb-ls.js'
import './verb-generate.js'
import './verb-describe.js'
import './verb-call.js'
import './verb-watch.js'
import './verb-stats.js'
import './verb-doctor.js'
import './verb-gc.js'
