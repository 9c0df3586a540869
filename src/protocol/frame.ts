/**
 * The frame: one fixed 28-byte header and a chunk of a body. One queue
 * message carries one or more frames back to back (see docs/PROTOCOL.md).
 *
 * ```
 * offset size  field
 *  0      1    version      (1)
 *  1      1    type         (FrameType)
 *  2      1    flags        (bit 0 URGENT, bit 1 ONE_WAY; others 0)
 *  3      1    reserved     (0)
 *  4      8    token        session token, 0 before a session exists
 * 12      4    callId       u32 little-endian
 * 16      4    bodyLength   u32 little-endian, the whole body
 * 20      4    offset       u32 little-endian, where this chunk starts in the body
 * 24      2    chunkLength  u16 little-endian, bytes of body after the header
 * 26      2    reserved     (0)
 * 28      -    chunk
 * ```
 *
 * A short frame (9 bytes of header) may follow another frame in the same
 * message, once the reader has said it reads them (the handshake's
 * `shortFrames`): it takes the token of the full frame before it, and carries a
 * whole body in one chunk, so bodyLength and offset go too. For small
 * replies and stream elements that is a fifth more of them per message.
 *
 * ```
 * offset size  field
 *  0      1    form         (0x81: not a version, so older readers refuse it)
 *  1      1    type
 *  2      1    flags
 *  3      4    callId       u32 little-endian
 *  7      2    length       u16 little-endian, the whole body
 *  9      -    body
 * ```
 * @module
 */
import { Buffer } from 'node:buffer'
import { ViewCache } from '../util/view-cache.js'

export const PROTOCOL_VERSION = 1
export const HEADER_SIZE = 28
/** The first byte of a short frame, where a full one has its version. */
export const SHORT_FORM = 0x81
export const SHORT_HEADER_SIZE = 9

/** Every frame type. Values are part of the wire protocol. */
export const FrameType = {
  HELLO: 0x01,
  CHALLENGE: 0x02,
  PROOF: 0x03,
  WELCOME: 0x04,
  REJECT: 0x05,
  REQUEST: 0x10,
  RESPONSE: 0x11,
  ERROR: 0x12,
  CANCEL: 0x13,
  /** One element of a streamed input or output (docs/PROTOCOL.md section 14). */
  STREAM_DATA: 0x14,
  /** The normal end of one direction of a stream. */
  STREAM_END: 0x15,
  /** The reader allows its peer this many more STREAM_DATA elements. */
  CREDIT: 0x16,
  EVENT: 0x20,
  PING: 0x30,
  PONG: 0x31,
  GOODBYE: 0x40,
} as const
export type FrameType = (typeof FrameType)[keyof typeof FrameType]

/** Indexed by a header's type byte, 1 for the known types: cheaper per frame than a Set. */
const KNOWN_TYPE = new Uint8Array(256)
for (const type of Object.values(FrameType)) KNOWN_TYPE[type] = 1

export const FrameFlag = {
  URGENT: 0x01,
  ONE_WAY: 0x02,
} as const
const KNOWN_FLAGS = FrameFlag.URGENT | FrameFlag.ONE_WAY

/** The fields of a header that a writer chooses. */
export interface FrameHeader {
  readonly type: FrameType
  readonly flags: number
  readonly token: bigint
  readonly callId: number
}

/** A decoded frame; `chunk` is a view into the received message. */
export interface Frame extends FrameHeader {
  readonly version: number
  readonly bodyLength: number
  readonly offset: number
  readonly chunk: Uint8Array
}

/** Why a message could not be read as frames. */
export class FrameError extends Error {
  override readonly name = 'FrameError'
  constructor(
    message: string,
    /** A short machine-readable reason, used for counters. */
    readonly reason: 'version' | 'short' | 'truncated' | 'type' | 'flags' | 'reserved' | 'length',
  ) {
    super(message)
  }
}

/** Writes a header at byte `at` of `view` (a view of the message's whole buffer: see ViewCache). */
export function writeHeader(
  view: DataView,
  at: number,
  header: FrameHeader,
  bodyLength: number,
  offset: number,
  chunkLength: number,
): void {
  view.setUint8(at + 0, PROTOCOL_VERSION)
  view.setUint8(at + 1, header.type)
  view.setUint8(at + 2, header.flags)
  view.setUint8(at + 3, 0)
  view.setBigUint64(at + 4, header.token, true)
  view.setUint32(at + 12, header.callId, true)
  view.setUint32(at + 16, bodyLength, true)
  view.setUint32(at + 20, offset, true)
  view.setUint16(at + 24, chunkLength, true)
  view.setUint16(at + 26, 0, true)
}

/** Writes a short header at byte `at` of `view`; the frame's token is the one of the frame before it. */
export function writeShortHeader(view: DataView, at: number, header: FrameHeader, bodyLength: number): void {
  view.setUint8(at + 0, SHORT_FORM)
  view.setUint8(at + 1, header.type)
  view.setUint8(at + 2, header.flags)
  view.setUint32(at + 3, header.callId, true)
  view.setUint16(at + 7, bodyLength, true)
}

/** Encodes one whole frame (header and the given chunk of the body). */
export function encodeFrame(header: FrameHeader, body: Uint8Array, offset = 0, chunkLength = body.length): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + chunkLength)
  writeHeader(new DataView(frame.buffer, frame.byteOffset, frame.byteLength), 0, header, body.length, offset, chunkLength)
  frame.set(body.subarray(offset, offset + chunkLength), HEADER_SIZE)
  return frame
}

/** The buffers messages arrive in: nearly always one queue's receive slots. */
const receivedViews = new ViewCache()

/**
 * Reads every frame of one queue message, in order. Throws FrameError on the
 * first malformed header; frames before it have already been delivered.
 * Short frames are read whether or not this side asked for them: a reader
 * that knows them loses nothing by accepting them.
 */
export function forEachFrame(message: Uint8Array, onFrame: (frame: Frame) => void): void {
  // `length`, not `byteLength` (docs/ARCHITECTURE.md, "Reading typed arrays
  // on hot paths"); `buffer` and `byteOffset` are read once per message.
  const length = message.length
  if (length === 0) throw new FrameError('empty message: a message holds at least one 28-byte frame header', 'truncated')
  // `view` spans the whole buffer: `at` runs from `base` to `end`, the
  // message's place in it.
  const view = receivedViews.of(message.buffer)
  const base = message.byteOffset
  const end = base + length
  let at = base
  // The last full frame's token, which a short frame takes.
  let token: bigint | undefined
  while (at < end) {
    const left = end - at
    let headerSize: number
    let bodyLength: number
    let offset: number
    let chunkLength: number
    if (view.getUint8(at) === SHORT_FORM) {
      if (token === undefined) {
        throw new FrameError('a short frame opens the message; it must follow a frame whose token it takes', 'short')
      }
      if (left < SHORT_HEADER_SIZE) {
        throw new FrameError(
          `${left} stray bytes after the last frame; a short frame header is ${SHORT_HEADER_SIZE} bytes`,
          'truncated',
        )
      }
      headerSize = SHORT_HEADER_SIZE
      bodyLength = view.getUint16(at + 7, true)
      offset = 0
      chunkLength = bodyLength
    } else {
      if (left < HEADER_SIZE) {
        throw new FrameError(`${left} stray bytes after the last frame; a frame header is ${HEADER_SIZE} bytes`, 'truncated')
      }
      const version = view.getUint8(at)
      if (version !== PROTOCOL_VERSION) {
        throw new FrameError(`frame of protocol version ${version}; this side speaks version ${PROTOCOL_VERSION}`, 'version')
      }
      headerSize = HEADER_SIZE
      token = view.getBigUint64(at + 4, true)
      bodyLength = view.getUint32(at + 16, true)
      offset = view.getUint32(at + 20, true)
      chunkLength = view.getUint16(at + 24, true)
    }
    // Type and flags sit at the same offsets in both forms, and callId
    // right after them or after the token.
    const type = view.getUint8(at + 1)
    if (KNOWN_TYPE[type] !== 1) throw new FrameError(`unknown frame type 0x${type.toString(16)}`, 'type')
    const flags = view.getUint8(at + 2)
    if ((flags & ~KNOWN_FLAGS) !== 0) throw new FrameError(`unknown frame flags 0x${flags.toString(16)}`, 'flags')
    if (headerSize === HEADER_SIZE && (view.getUint8(at + 3) !== 0 || view.getUint16(at + 26, true) !== 0)) {
      throw new FrameError('reserved header bytes are not zero', 'reserved')
    }
    if (chunkLength > left - headerSize) {
      throw new FrameError(`chunk of ${chunkLength} bytes but only ${left - headerSize} follow the header`, 'truncated')
    }
    if (offset + chunkLength > bodyLength) {
      throw new FrameError(`chunk [${offset}, ${offset + chunkLength}) runs past the body's ${bodyLength} bytes`, 'length')
    }
    const start = at + headerSize
    onFrame({
      version: PROTOCOL_VERSION,
      type: type as FrameType,
      flags,
      token,
      callId: view.getUint32(headerSize === HEADER_SIZE ? at + 12 : at + 3, true),
      bodyLength,
      offset,
      chunk: message.subarray(start - base, start - base + chunkLength),
    })
    at = start + chunkLength
  }
}
