/**
 * The sizes of the queues mqrpc creates, named once: the transport uses
 * them, `mqrpc doctor` and the docs quote them. The kernel's own limits
 * (msg_max, msgsize_max) are read at run time, never assumed.
 * @module
 */

/**
 * Slots of a reply queue, and the size of each message. The budget a queue
 * costs its user's RLIMIT_MSGQUEUE goes by slots x (size + 96), so reply
 * queues are small, for dozens of clients per user. Ten slots, because
 * replies to small calls leave a message per flush, several flushes a
 * batch: with five slots the server found the queue full and waited for
 * room often enough to cost it up to a fifth more instructions per call
 * (bench/instructions.ts).
 * Larger replies span several messages (a client that moves them sets
 * replyMessageSize).
 */
export const DEFAULT_REPLY_MAX_MESSAGES = 10
export const DEFAULT_REPLY_MESSAGE_SIZE = 1024
/** Slots of each request queue. Defaults to 10, the usual msg_max. */
export const DEFAULT_SERVICE_MAX_MESSAGES = 10
/** Message size of each request queue. Defaults to 8192, the usual msgsize_max. */
export const DEFAULT_SERVICE_MESSAGE_SIZE = 8192
