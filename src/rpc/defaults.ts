/**
 * Every default of the RPC layer, named once: the code resolves options
 * from these, `mqrpc doctor` and the docs quote them. Defaults that exist
 * only because the transport is a POSIX queue (modes, queue sizes) live
 * beside that transport (src/transport/mq/).
 * @module
 */

/** Sessions at once, over all principals. */
export const DEFAULT_MAX_SESSIONS = 128
/** Sessions at once per principal (one user), counted once the handshake is done. */
export const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL = 64
/** Handshakes in progress at once (HELLO answered, PROOF not yet come), over all principals. */
export const DEFAULT_MAX_HANDSHAKES = 32
/**
 * Handshakes in progress at once per principal: one user can use up only
 * its own share, and 8 of the 32 stay for everyone else.
 */
export const DEFAULT_MAX_HANDSHAKES_PER_PRINCIPAL = 24
/**
 * Elements a stream's reader lets its writer send ahead of what it has
 * consumed (the credit window), at most. A window is renewed once per half
 * window, a round trip and a wake-up of both sides: with 16, a stream of
 * 64-byte elements waited on those round trips with both sides mostly
 * idle; 64 about doubled its rate, and 256 cut the CPU per element by a
 * further quarter on both sides (bench/streams.ts, same runs). The byte
 * budget below keeps large elements to a smaller window. A client's output
 * streams get this many per KiB of its reply messages unless told
 * (src/rpc/stream-credit.ts, `replyStreamWindow`).
 */
export const DEFAULT_STREAM_WINDOW = 256
/**
 * The widest window a client's output streams get by default, reached with
 * reply messages of 8 KiB (the largest mq_msgsize the kernel allows
 * without raising fs.mqueue.msgsize_max). With 8 KiB replies, 256 elements
 * of 64 bytes are about three of the reply queue's ten messages, and the
 * server waited for each renewal with its queue nearly empty: about
 * 500,000 elements/s, against 650,000 to 1,160,000 with 1,024 or 2,048
 * (bench/analysis.md, the sixteenth session). With the default 1 KiB
 * replies, whose queue holds about 100 such elements, the full queue is
 * the limit and a window wider than 256 was slower (about 600,000
 * elements/s against 720,000). A server's input window does not scale
 * so: its request queue is shared by every client, and a wider window
 * would let one client's stream keep it full for all the others.
 */
export const MAX_DEFAULT_STREAM_WINDOW = 2048
/**
 * About how many bytes of elements a stream's reader lets its writer send
 * ahead: the window is sized to this many elements of the average size
 * seen (src/rpc/stream-credit.ts), so 4 KiB elements get 64 of them and
 * 64 KiB ones 4, and memory per stream stays near this whatever the
 * elements' size.
 */
export const DEFAULT_STREAM_WINDOW_BYTES = 256 * 1024
/** Calls in flight per session. */
export const DEFAULT_MAX_IN_FLIGHT = 128
/** Largest request body a server accepts, in bytes. */
export const DEFAULT_SERVER_MAX_BODY_BYTES = 16 * 1024 * 1024
/** Largest reply body a client accepts, in bytes. */
export const DEFAULT_CLIENT_MAX_BODY_BYTES = 64 * 1024 * 1024
/** Partly received bodies held per session. */
export const DEFAULT_MAX_PARTIALS = 16
/** How long a partly received body may wait for its next chunk. */
export const DEFAULT_PARTIAL_TIMEOUT_MS = 10_000
/** How long a client has to finish the handshake (server side). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000
/** Heartbeat interval a server tells its clients. */
export const DEFAULT_HEARTBEAT_MS = 1000
/** How long a reply may wait for room in a client's full reply path before the session is ended. */
export const DEFAULT_SLOW_READER_MS = 10_000
/** Handlers running at once. */
export const DEFAULT_CONCURRENCY = 64
/** Of the concurrency, slots kept for urgent calls. */
export const DEFAULT_URGENT_RESERVE = 8
/** How long close() waits for calls in flight before cancelling them. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5000
/** How long a server already on the address has to answer a probe before its queue is taken over. */
export const DEFAULT_PROBE_TIMEOUT_MS = 1000
/** How long createClient may take to make its first session. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000
/** How long each reconnect attempt may take to finish the handshake. */
export const DEFAULT_RECONNECT_HANDSHAKE_TIMEOUT_MS = 2000
/** First pause between reconnect attempts; it doubles up to the maximum. */
export const DEFAULT_RECONNECT_MIN_DELAY_MS = 50
/** Longest pause between reconnect attempts. */
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 1000
