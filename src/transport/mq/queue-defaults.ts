/**
 * The sizes of the queues mqrpc creates, named once: the transport uses
 * them, `mqrpc doctor` and the docs quote them. The kernel's own limits
 * (msg_max, msgsize_max) are read at run time, never assumed.
 * @module
 */

/** Slots of a reply queue. Defaults to 10, the usual msg_max. */
export const DEFAULT_REPLY_MAX_MESSAGES = 10
/**
 * Message size of a reply queue: small, so that dozens of clients fit in
 * one user's RLIMIT_MSGQUEUE budget; larger replies span several messages.
 */
export const DEFAULT_REPLY_MESSAGE_SIZE = 1024
/** Slots of each request queue. Defaults to 10, the usual msg_max. */
export const DEFAULT_SERVICE_MAX_MESSAGES = 10
/** Message size of each request queue. Defaults to 8192, the usual msgsize_max. */
export const DEFAULT_SERVICE_MESSAGE_SIZE = 8192
