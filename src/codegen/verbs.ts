/**
 * Loads every verb of the command line (each registers itself).
 * @module
 */
