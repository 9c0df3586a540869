/**
 * The sizes of the queues mqrpc creates, named once: the transport uses
 * them, `mqrpc doctor` and the docs quote them. The kernel's own limits
 * (msg_max, msgsize_max) are read at run time, never assumed.
 * @module
 */

/**
 * Slots of a reply queue, and the size of each message. The budget a queue
 * costs its user's RLIMIT_MSGQUEUE goes by slots x (size + 96), so reply
 * queues are small, for dozens of clients per user. Within that, five
 * messages of 2 KiB (10,720 bytes) rather than ten of 1 KiB (11,200): each
 * message of a large reply or stream element is a wake-up of the client,
 * and half as many made 1 MiB replies on one CPU about 1.5x faster; replies
 * to small calls are packed several to a message either way.
 */
export const DEFAULT_REPLY_MAX_MESSAGES = 5
export const DEFAULT_REPLY_MESSAGE_SIZE = 2048
/** Slots of each request queue. Defaults to 10, the usual msg_max. */
export const DEFAULT_SERVICE_MAX_MESSAGES = 10
/** Message size of each request queue. Defaults to 8192, the usual msgsize_max. */
export const DEFAULT_SERVICE_MESSAGE_SIZE = 8192
