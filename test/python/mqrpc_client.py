#!/usr/bin/env python3
"""A minimal mqrpc client in Python 3, standard library only.

Written from docs/PROTOCOL.md alone, to prove that the document is enough:
POSIX queues through ctypes (librt's mq_open, mq_send, mq_receive,
mq_getattr, mq_close, mq_unlink, plus their timed forms), the 28-byte frame
header with struct, and a small msgpack codec for the types mqrpc bodies use.

    python3 mqrpc_client.py <queue> [options]

Runs a fixed scenario against a server of the `calc` service
(examples/calc/service.ts) and prints one line per step, `<step> <json>`:
handshake, add, a divide by zero, checksum with binary data, pipelined calls
coalesced in one queue message, a 20 KB body split over several frames, a
reply larger than the reply queue's message size ($describe), a call whose
deadline has passed, an unknown method, a one-way call, an urgent call,
PING/PONG, then `ready`, one EVENT, and GOODBYE. With --expect-reject it
stops after the handshake and prints the REJECT instead; with --streams it
consumes a server stream; with --batch N it sends N calls at once, packed in
one queue message, and prints their results.

With --short-frames the client says `shortFrames: true` in HELLO and reads
the 9-byte short frames of docs/PROTOCOL.md 3.1 on its reply queue; when the
WELCOME says `shortFrames: true` too, it writes short frames itself (after
the first frame of each packed message). Without it, a short frame is to the
client what it is to a reader of an earlier release: malformed.

Exit status: 0 when the scenario ran, 1 on any protocol error (printed as
`error <message>` on stderr). The reply queue is removed in every case.
"""
import argparse
import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import struct
import sys
import time

# ---------------------------------------------------------------------------
# msgpack: nil, bool, int, float (float64 out; float32/64 in), str, bin,
# array, map; ext is decoded to an Ext and never produced.


class Ext:
    """A msgpack ext value, kept as (type, data)."""

    def __init__(self, code, data):
        self.code = code
        self.data = data

    def __repr__(self):
        return "Ext(%d, %r)" % (self.code, self.data)


def packb(obj):
    out = bytearray()
    _pack(obj, out)
    return bytes(out)


def _pack(obj, out):
    if obj is None:
        out.append(0xC0)
    elif obj is True:
        out.append(0xC3)
    elif obj is False:
        out.append(0xC2)
    elif isinstance(obj, int):
        _pack_int(obj, out)
    elif isinstance(obj, float):
        out.append(0xCB)
        out += struct.pack(">d", obj)
    elif isinstance(obj, str):
        data = obj.encode("utf-8")
        n = len(data)
        if n < 32:
            out.append(0xA0 | n)
        elif n < 0x100:
            out += struct.pack(">BB", 0xD9, n)
        elif n < 0x10000:
            out += struct.pack(">BH", 0xDA, n)
        else:
            out += struct.pack(">BI", 0xDB, n)
        out += data
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        n = len(data)
        if n < 0x100:
            out += struct.pack(">BB", 0xC4, n)
        elif n < 0x10000:
            out += struct.pack(">BH", 0xC5, n)
        else:
            out += struct.pack(">BI", 0xC6, n)
        out += data
    elif isinstance(obj, (list, tuple)):
        n = len(obj)
        if n < 16:
            out.append(0x90 | n)
        elif n < 0x10000:
            out += struct.pack(">BH", 0xDC, n)
        else:
            out += struct.pack(">BI", 0xDD, n)
        for item in obj:
            _pack(item, out)
    elif isinstance(obj, dict):
        n = len(obj)
        if n < 16:
            out.append(0x80 | n)
        elif n < 0x10000:
            out += struct.pack(">BH", 0xDE, n)
        else:
            out += struct.pack(">BI", 0xDF, n)
        for key, value in obj.items():
            _pack(key, out)
            _pack(value, out)
    else:
        raise TypeError("cannot encode %r as msgpack" % (obj,))


def _pack_int(n, out):
    if 0 <= n < 0x80:
        out.append(n)
    elif -32 <= n < 0:
        out.append(n & 0xFF)
    elif 0 <= n < 0x100:
        out += struct.pack(">BB", 0xCC, n)
    elif 0 <= n < 0x10000:
        out += struct.pack(">BH", 0xCD, n)
    elif 0 <= n < 0x100000000:
        out += struct.pack(">BI", 0xCE, n)
    elif 0 <= n < 0x10000000000000000:
        out += struct.pack(">BQ", 0xCF, n)
    elif -0x80 <= n < 0:
        out += struct.pack(">Bb", 0xD0, n)
    elif -0x8000 <= n < 0:
        out += struct.pack(">Bh", 0xD1, n)
    elif -0x80000000 <= n < 0:
        out += struct.pack(">Bi", 0xD2, n)
    elif -0x8000000000000000 <= n < 0:
        out += struct.pack(">Bq", 0xD3, n)
    else:
        raise OverflowError("integer %d does not fit in 64 bits" % n)


def unpackb(data):
    value, end = _unpack(memoryview(data), 0)
    if end != len(data):
        raise ValueError("%d bytes after the msgpack value" % (len(data) - end))
    return value


_FIXED = {
    0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
    0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
    0xCA: ">f", 0xCB: ">d",
}
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


def _take(buf, at, n):
    if at + n > len(buf):
        raise ValueError("msgpack value truncated")
    return bytes(buf[at:at + n]), at + n


def _length(buf, at, fmt):
    raw, at = _take(buf, at, struct.calcsize(fmt))
    return struct.unpack(fmt, raw)[0], at


def _unpack(buf, at):
    if at >= len(buf):
        raise ValueError("msgpack value truncated")
    b = buf[at]
    at += 1
    if b <= 0x7F:
        return b, at
    if b >= 0xE0:
        return b - 0x100, at
    if 0xA0 <= b <= 0xBF:
        raw, at = _take(buf, at, b & 0x1F)
        return raw.decode("utf-8"), at
    if 0x90 <= b <= 0x9F:
        return _array(buf, at, b & 0x0F)
    if 0x80 <= b <= 0x8F:
        return _map(buf, at, b & 0x0F)
    if b == 0xC0:
        return None, at
    if b == 0xC2:
        return False, at
    if b == 0xC3:
        return True, at
    if b in _FIXED:
        fmt = _FIXED[b]
        raw, at = _take(buf, at, struct.calcsize(fmt))
        return struct.unpack(fmt, raw)[0], at
    if b in (0xD9, 0xDA, 0xDB):
        n, at = _length(buf, at, {0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}[b])
        raw, at = _take(buf, at, n)
        return raw.decode("utf-8"), at
    if b in (0xC4, 0xC5, 0xC6):
        n, at = _length(buf, at, {0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}[b])
        return _take(buf, at, n)
    if b in (0xDC, 0xDD):
        n, at = _length(buf, at, ">H" if b == 0xDC else ">I")
        return _array(buf, at, n)
    if b in (0xDE, 0xDF):
        n, at = _length(buf, at, ">H" if b == 0xDE else ">I")
        return _map(buf, at, n)
    if b in _FIXEXT:
        code, at = _length(buf, at, ">b")
        raw, at = _take(buf, at, _FIXEXT[b])
        return Ext(code, raw), at
    if b in (0xC7, 0xC8, 0xC9):
        n, at = _length(buf, at, {0xC7: ">B", 0xC8: ">H", 0xC9: ">I"}[b])
        code, at = _length(buf, at, ">b")
        raw, at = _take(buf, at, n)
        return Ext(code, raw), at
    raise ValueError("byte 0x%02x is not a msgpack type" % b)


def _array(buf, at, n):
    items = []
    for _ in range(n):
        item, at = _unpack(buf, at)
        items.append(item)
    return items, at


def _map(buf, at, n):
    result = {}
    for _ in range(n):
        key, at = _unpack(buf, at)
        value, at = _unpack(buf, at)
        result[key] = value
    return result, at


# ---------------------------------------------------------------------------
# POSIX message queues through ctypes (Linux: an mqd_t is an int descriptor).


class MqAttr(ctypes.Structure):
    _fields_ = [
        ("mq_flags", ctypes.c_long),
        ("mq_maxmsg", ctypes.c_long),
        ("mq_msgsize", ctypes.c_long),
        ("mq_curmsgs", ctypes.c_long),
        ("_reserved", ctypes.c_long * 4),
    ]


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _load_rt():
    for name in (ctypes.util.find_library("rt"), "librt.so.1", None):
        try:
            lib = ctypes.CDLL(name, use_errno=True)
            lib.mq_open  # noqa: B018 (raises AttributeError when absent)
            return lib
        except (OSError, AttributeError):
            continue
    raise OSError("no library with mq_open (librt) found")


rt = _load_rt()
rt.mq_open.restype = ctypes.c_int
rt.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(MqAttr)]
rt.mq_close.argtypes = [ctypes.c_int]
rt.mq_unlink.argtypes = [ctypes.c_char_p]
rt.mq_getattr.argtypes = [ctypes.c_int, ctypes.POINTER(MqAttr)]
rt.mq_send.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint]
rt.mq_timedsend.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.POINTER(Timespec)]
rt.mq_receive.restype = ctypes.c_ssize_t
rt.mq_receive.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint)]
rt.mq_timedreceive.restype = ctypes.c_ssize_t
rt.mq_timedreceive.argtypes = [
    ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(Timespec),
]


def _check(result, syscall, name):
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, "%s(%s): %s" % (syscall, name, os.strerror(err)))
    return result


def _deadline(timeout_s):
    """An absolute CLOCK_REALTIME time, as mq_timed* want it."""
    at = time.time() + timeout_s
    return Timespec(int(at), int((at - int(at)) * 1e9))


class Queue:
    """One open queue descriptor."""

    def __init__(self, name, fd):
        self.name = name
        self.fd = fd
        attr = self.attributes()
        self.max_messages = attr.mq_maxmsg
        self.message_size = attr.mq_msgsize

    @classmethod
    def open(cls, name, flags):
        fd = _check(rt.mq_open(name.encode(), flags, 0, None), "mq_open", name)
        return cls(name, fd)

    @classmethod
    def create(cls, name, flags, mode, max_messages, message_size):
        attr = MqAttr(0, max_messages, message_size, 0)
        fd = _check(
            rt.mq_open(name.encode(), flags | os.O_CREAT | os.O_EXCL, mode, ctypes.byref(attr)), "mq_open", name,
        )
        # mq_open filters the mode through the umask: set the mode asked for.
        os.fchmod(fd, mode)
        return cls(name, fd)

    def attributes(self):
        attr = MqAttr()
        _check(rt.mq_getattr(self.fd, ctypes.byref(attr)), "mq_getattr", self.name)
        return attr

    def owner_mode(self):
        return os.fstat(self.fd).st_mode & 0o7777

    def send(self, data, priority=0, timeout_s=10.0):
        while True:
            result = rt.mq_timedsend(self.fd, data, len(data), priority, ctypes.byref(_deadline(timeout_s)))
            if result == -1 and ctypes.get_errno() == errno.EINTR:
                continue
            _check(result, "mq_timedsend", self.name)
            return

    def receive(self, timeout_s):
        """The next message and its priority, or None after timeout_s."""
        buf = ctypes.create_string_buffer(self.message_size)  # at least mq_msgsize, or EMSGSIZE
        prio = ctypes.c_uint(0)
        while True:
            n = rt.mq_timedreceive(self.fd, buf, self.message_size, ctypes.byref(prio), ctypes.byref(_deadline(timeout_s)))
            if n == -1:
                err = ctypes.get_errno()
                if err == errno.EINTR:
                    continue
                if err == errno.ETIMEDOUT:
                    return None
                _check(n, "mq_timedreceive", self.name)
            return buf.raw[:n], prio.value

    def close(self):
        if self.fd >= 0:
            rt.mq_close(self.fd)
            self.fd = -1

    @staticmethod
    def unlink(name):
        _check(rt.mq_unlink(name.encode()), "mq_unlink", name)


# ---------------------------------------------------------------------------
# Frames (docs/PROTOCOL.md section 3).

VERSION = 1
HEADER = struct.Struct("<BBBBQIIIHH")  # 28 bytes, little-endian, no padding
assert HEADER.size == 28

HELLO, CHALLENGE, PROOF, WELCOME, REJECT = 0x01, 0x02, 0x03, 0x04, 0x05
REQUEST, RESPONSE, ERROR, CANCEL = 0x10, 0x11, 0x12, 0x13
STREAM_DATA, STREAM_END, CREDIT = 0x14, 0x15, 0x16
EVENT, PING, PONG, GOODBYE = 0x20, 0x30, 0x31, 0x40
TYPE_NAMES = {
    HELLO: "HELLO", CHALLENGE: "CHALLENGE", PROOF: "PROOF", WELCOME: "WELCOME", REJECT: "REJECT",
    REQUEST: "REQUEST", RESPONSE: "RESPONSE", ERROR: "ERROR", CANCEL: "CANCEL", EVENT: "EVENT",
    PING: "PING", PONG: "PONG", GOODBYE: "GOODBYE",
    STREAM_DATA: "STREAM_DATA", STREAM_END: "STREAM_END", CREDIT: "CREDIT",
}
FLAG_URGENT, FLAG_ONE_WAY = 0x01, 0x02
NORMAL_PRIORITY, URGENT_PRIORITY = 0, 1

# Short frames (docs/PROTOCOL.md 3.1): after a full frame in the same message,
# a whole body may follow a 9-byte header that takes its token from the
# nearest full frame before it. Used only once the reader has said it reads
# them (HELLO / WELCOME `shortFrames: true`).
SHORT_FORM = 0x81
SHORT_HEADER = struct.Struct("<BBBIH")  # form, type, flags, callId, length
assert SHORT_HEADER.size == 9


class ProtocolError(Exception):
    pass


class MalformedMessage(ProtocolError):
    """The rest of a message is malformed (3.5); `frames` are the valid ones before the fault."""

    def __init__(self, message, frames):
        super().__init__(message)
        self.frames = frames


class Frame:
    __slots__ = ("type", "flags", "token", "call_id", "body_length", "offset", "chunk", "short")

    def __init__(self, type_, flags, token, call_id, body_length, offset, chunk, short=False):
        self.type = type_
        self.flags = flags
        self.token = token
        self.call_id = call_id
        self.body_length = body_length
        self.offset = offset
        self.chunk = chunk
        self.short = short


def frames_of(message, short_frames=False):
    """Every frame of one queue message, in order (several may share it).

    With short_frames, a frame whose first byte is 0x81 is read as a short
    frame (3.1, the walk of 3.4); without, it is what it was to a reader of
    an earlier release: a frame of an unknown version. A malformed header
    raises MalformedMessage, which carries the frames before it.
    """
    frames = []
    at = 0
    token = None  # the token of the nearest full frame so far
    if not message:
        raise MalformedMessage("empty message", frames)
    while at < len(message):
        if short_frames and message[at] == SHORT_FORM:
            if token is None:
                raise MalformedMessage("a short frame opens the message", frames)
            if len(message) - at < SHORT_HEADER.size:
                raise MalformedMessage("%d stray bytes after the last frame" % (len(message) - at), frames)
            _form, type_, flags, call_id, length = SHORT_HEADER.unpack_from(message, at)
            if type_ not in TYPE_NAMES:
                raise MalformedMessage("unknown frame type 0x%02x in a short frame" % type_, frames)
            if flags & ~(FLAG_URGENT | FLAG_ONE_WAY):
                raise MalformedMessage("unknown flags in a short frame", frames)
            start = at + SHORT_HEADER.size
            if start + length > len(message):
                raise MalformedMessage("short frame runs past the message", frames)
            frames.append(Frame(type_, flags, token, call_id, length, 0, message[start:start + length], short=True))
            at = start + length
            continue
        if len(message) - at < HEADER.size:
            raise MalformedMessage("%d stray bytes after the last frame" % (len(message) - at), frames)
        # `token` becomes this full frame's token: the one short frames after it take.
        version, type_, flags, r1, token, call_id, body_length, offset, chunk_length, r2 = HEADER.unpack_from(message, at)
        if version != VERSION:
            raise MalformedMessage("frame of protocol version %d" % version, frames)
        if type_ not in TYPE_NAMES:
            raise MalformedMessage("unknown frame type 0x%02x" % type_, frames)
        if flags & ~(FLAG_URGENT | FLAG_ONE_WAY) or r1 or r2:
            raise MalformedMessage("unknown flags or non-zero reserved bytes", frames)
        start = at + HEADER.size
        if start + chunk_length > len(message):
            raise MalformedMessage("chunk runs past the message", frames)
        if offset + chunk_length > body_length:
            raise MalformedMessage("chunk runs past the body", frames)
        frames.append(Frame(type_, flags, token, call_id, body_length, offset, message[start:start + chunk_length]))
        at = start + chunk_length
    return frames


def encode_frames(type_, flags, token, call_id, body, max_chunk):
    """One body as frames of at most max_chunk body bytes each (at least one frame)."""
    frames = []
    offset = 0
    while True:
        chunk = body[offset:offset + max_chunk]
        frames.append(HEADER.pack(VERSION, type_, flags, 0, token, call_id, len(body), offset, len(chunk), 0) + chunk)
        offset += len(chunk)
        if offset >= len(body):
            return frames


def pack_messages(bodies, token, max_chunk, message_size, short_frames):
    """Frames of several bodies packed back to back into as few messages as fit (3.4).

    bodies: (type, flags, callId, body) of one mq priority. With short_frames
    (the reader said it reads them), a whole body that is not the first frame
    of its message goes after a 9-byte short header (3.1): every frame here
    carries `token`, so the nearest full frame before it always has the same.
    Returns (messages, short frames written).
    """
    messages = []
    current = bytearray()
    shorts = 0
    for type_, flags, call_id, body in bodies:
        for frame in encode_frames(type_, flags, token, call_id, body, max_chunk):
            whole = len(frame) - HEADER.size == len(body)
            if short_frames and whole and current and len(current) + SHORT_HEADER.size + len(body) <= message_size:
                current += SHORT_HEADER.pack(SHORT_FORM, type_, flags, call_id, len(body)) + body
                shorts += 1
                continue
            if current and len(current) + len(frame) > message_size:
                messages.append(bytes(current))
                current = bytearray()
            current += frame  # a message always opens with a full frame
    if current:
        messages.append(bytes(current))
    return messages, shorts


class Reassembler:
    """Bodies put back together per (type, callId), chunks in order, bounded."""

    def __init__(self, max_body_bytes=64 << 20, max_partials=16):
        self.max_body_bytes = max_body_bytes
        self.max_partials = max_partials
        self.partials = {}
        self.frames_seen = {}

    def accept(self, frame):
        """The whole body when `frame` completes one, else None."""
        key = (frame.type, frame.call_id)
        if frame.body_length > self.max_body_bytes:
            self.partials.pop(key, None)
            raise ProtocolError("body of %d bytes is over the limit" % frame.body_length)
        if frame.offset == 0:
            if key not in self.partials and len(self.partials) >= self.max_partials:
                raise ProtocolError("too many partial bodies")
            self.partials[key] = bytearray()
            self.frames_seen[key] = 0
        partial = self.partials.get(key)
        if partial is None or len(partial) != frame.offset:
            self.partials.pop(key, None)
            raise ProtocolError("chunk at offset %d does not continue its body" % frame.offset)
        partial += frame.chunk
        self.frames_seen[key] += 1
        if len(partial) < frame.body_length:
            return None
        del self.partials[key]
        self.last_frames = self.frames_seen.pop(key)
        return bytes(partial)


# ---------------------------------------------------------------------------
# The client.


class RpcError(Exception):
    def __init__(self, code, message, details=None):
        super().__init__("[%d] %s" % (code, message))
        self.code = code
        self.message = message
        self.details = details


class Client:
    def __init__(self, queue, reply_size, reply_mode, service, fingerprint, short_frames=False):
        self.queue_name = queue
        self.service = service
        self.fingerprint = fingerprint
        self.short_frames = short_frames  # we read short frames (said in HELLO)
        self.server_reads_short = False  # the server reads them (said in WELCOME)
        self.short_received = 0  # short frames received, of any type
        self.short_replies = 0  # RESPONSE and ERROR bodies that came as short frames
        self.malformed = 0  # malformed messages survived (3.5), with short frames on
        self.token = 0
        self.next_id = 0
        self.heartbeat_s = 1.0
        self.next_ping = None
        self.replies = {}  # callId -> (type, body, frames)
        self.streams = {}  # callId -> [(STREAM_DATA, element) or (STREAM_END, None)], in arrival order
        self.granted = {}  # callId -> credit granted so far (docs/PROTOCOL.md 14.2)
        self.received = {}  # callId -> STREAM_DATA bodies received so far
        self.events = []  # (seq, name, payload)
        self.pongs = 0
        self.forged = 0
        self.goodbye = None
        self.reassembler = Reassembler()
        self.handshake_body = None
        self.reply_name = "/mqrpc.reply.%d.%s" % (os.getpid(), os.urandom(12).hex())
        self.reply = Queue.create(self.reply_name, os.O_RDONLY, reply_mode, 10, reply_size)
        print("reply_queue %s" % json.dumps(self.reply_name), flush=True)
        self.requests = None
        self.urgent = None

    # -- sending ------------------------------------------------------------

    def max_chunk(self, queue):
        return min(0xFFFF, queue.message_size - HEADER.size)

    def write(self, type_, call_id, body, urgent=False, one_way=False):
        queue = self.urgent if urgent else self.requests
        flags = (FLAG_URGENT if urgent else 0) | (FLAG_ONE_WAY if one_way else 0)
        for frame in encode_frames(type_, flags, self.token, call_id, body, self.max_chunk(queue)):
            queue.send(frame, URGENT_PRIORITY if urgent else NORMAL_PRIORITY)

    def new_call_id(self):
        self.next_id = 1 if self.next_id >= 0xFFFFFFFF else self.next_id + 1
        return self.next_id

    # -- receiving ----------------------------------------------------------

    def pump(self, timeout_s):
        """Reads one message (waiting at most timeout_s) and files its frames; sends a PING when due."""
        if self.next_ping is not None and time.monotonic() >= self.next_ping:
            self.write(PING, 0, b"")
            self.next_ping = time.monotonic() + self.heartbeat_s
        if self.next_ping is not None:
            timeout_s = max(0.0, min(timeout_s, self.next_ping - time.monotonic()))
        got = self.reply.receive(timeout_s)
        if got is None:
            return
        message, _priority = got
        if not self.short_frames:
            frames = frames_of(message)  # a malformed message ends the run
        else:
            # 3.5: frames before a malformed header are handled, the rest of
            # the message is dropped, and the session goes on.
            try:
                frames = frames_of(message, short_frames=True)
            except MalformedMessage as error:
                frames = error.frames
                self.malformed += 1
                print("malformed %s" % error, file=sys.stderr, flush=True)
        for frame in frames:
            self.on_frame(frame)

    def on_frame(self, frame):
        if frame.type in (CHALLENGE, REJECT):
            # Checked by the nonce in the body, not by the token.
            body = self.reassembler.accept(frame)
            if body is not None:
                self.handshake_body = (frame.type, frame.token, body)
            return
        if self.token == 0 or frame.token != self.token:
            self.forged += 1
            return
        if frame.short:
            self.short_received += 1
        body = self.reassembler.accept(frame)
        if body is None:
            return
        value = unpackb(body) if body else None
        if frame.type in (WELCOME, RESPONSE, ERROR):
            if frame.short and frame.type != WELCOME:
                self.short_replies += 1
            self.replies[frame.call_id] = (frame.type, value, self.reassembler.last_frames)
        elif frame.type in (STREAM_DATA, STREAM_END) and frame.call_id in self.streams:
            if frame.type == STREAM_DATA:
                self.received[frame.call_id] += 1
                if self.received[frame.call_id] > self.granted[frame.call_id]:
                    raise ProtocolError("the server sent more elements than the credit granted")
            self.streams[frame.call_id].append((frame.type, value))
        elif frame.type == EVENT:
            self.events.append((frame.call_id, value[0], value[1]))
        elif frame.type == PONG:
            self.pongs += 1
        elif frame.type == GOODBYE:
            self.goodbye = value

    def wait_for(self, ready, what, timeout_s=10.0):
        end = time.monotonic() + timeout_s
        while not ready():
            left = end - time.monotonic()
            if left <= 0:
                raise ProtocolError("timed out waiting for %s" % what)
            self.pump(left)

    # -- the protocol -------------------------------------------------------

    def connect(self):
        self.requests = Queue.open(self.queue_name, os.O_WRONLY)
        self.urgent = Queue.open(self.queue_name + ".urgent", os.O_WRONLY)
        nonce = os.urandom(8)
        hello = {
            "protocol": 1,
            "service": self.service,
            "replyQueue": self.reply_name,
            "pid": os.getpid(),
            "nonce": nonce,
        }
        if self.fingerprint is not None:
            hello["fingerprint"] = self.fingerprint
        if self.short_frames:
            hello["shortFrames"] = True  # we read short frames on the reply queue
        body = packb(hello)
        if len(body) > self.max_chunk(self.requests):
            raise ProtocolError("HELLO must fit in one frame")
        self.write(HELLO, 0, body)
        while True:
            self.wait_for(lambda: self.handshake_body is not None, "CHALLENGE or REJECT")
            type_, token, body = self.handshake_body
            self.handshake_body = None
            answer = unpackb(body)
            if not isinstance(answer, dict) or answer.get("nonce") != nonce:
                self.forged += 1  # not from the server: it never saw our nonce
                continue
            if type_ == REJECT:
                raise RpcError(answer.get("code", 2), answer.get("message", ""), answer.get("details"))
            if token == 0:
                raise ProtocolError("CHALLENGE without a token")
            self.token = token
            break
        print("challenge %s" % json.dumps({"nonceEchoed": True, "tokenNonZero": self.token != 0}), flush=True)
        self.write(PROOF, 0, b"")
        self.wait_for(lambda: 0 in self.replies, "WELCOME")
        type_, welcome, _frames = self.replies.pop(0)
        if type_ != WELCOME:
            raise ProtocolError("expected WELCOME, got %s" % TYPE_NAMES[type_])
        self.heartbeat_s = welcome["heartbeatMs"] / 1000.0
        # Only `true` counts, and only if we offered (a server never says it otherwise).
        self.server_reads_short = self.short_frames and welcome.get("shortFrames") is True
        self.next_ping = time.monotonic() + self.heartbeat_s
        return welcome

    def send_request(self, method, value, deadline_ms=None, urgent=False, one_way=False):
        call_id = self.new_call_id()
        self.write(REQUEST, call_id, packb([method, value, deadline_ms]), urgent=urgent, one_way=one_way)
        return call_id

    def send_batch(self, calls):
        """Sends several REQUESTs packed into as few request-queue messages as fit.

        calls: (method, value) pairs. The bodies after the first frame of a
        message go as short frames when the WELCOME said the server reads
        them. Returns (callIds, messages sent, short frames sent).
        """
        bodies = []
        for method, value in calls:
            bodies.append((REQUEST, 0, self.new_call_id(), packb([method, value, None])))
        messages, shorts = pack_messages(
            bodies, self.token, self.max_chunk(self.requests), self.requests.message_size, self.server_reads_short,
        )
        for message in messages:
            self.requests.send(message, NORMAL_PRIORITY)
        return [call_id for _type, _flags, call_id, _body in bodies], len(messages), shorts

    def result(self, call_id):
        self.wait_for(lambda: call_id in self.replies, "the reply to call %d" % call_id)
        type_, value, frames = self.replies.pop(call_id)
        if type_ == ERROR:
            raise RpcError(value["code"], value["message"], value.get("details"))
        return value, frames

    def call(self, method, value, **options):
        return self.result(self.send_request(method, value, **options))[0]

    def grant(self, call_id, n):
        self.granted[call_id] += n
        self.write(CREDIT, call_id, packb(n))

    def call_stream(self, method, value, window=16):
        """A server stream (docs/PROTOCOL.md section 14): yields each element.

        Grants `window` elements after the REQUEST, and renews half a window
        each time that many have been consumed, so the server never has more
        than `window` elements outstanding.
        """
        call_id = self.send_request(method, value)
        self.streams[call_id] = []
        self.granted[call_id] = 0
        self.received[call_id] = 0
        self.grant(call_id, window)
        queue = self.streams[call_id]
        consumed = 0
        try:
            while True:
                self.wait_for(lambda: len(queue) > 0 or call_id in self.replies, "stream %d" % call_id)
                if not queue:
                    type_, value, _frames = self.replies.pop(call_id)
                    if type_ == ERROR:
                        raise RpcError(value["code"], value["message"], value.get("details"))
                    raise ProtocolError("a server stream ended with %s" % TYPE_NAMES[type_])
                type_, element = queue.pop(0)
                if type_ == STREAM_END:
                    return
                consumed += 1
                if consumed >= window // 2:
                    self.grant(call_id, consumed)
                    consumed = 0
                yield element
        finally:
            self.streams.pop(call_id, None)

    def goodbye_and_close(self):
        if self.token != 0 and self.requests is not None:
            self.write(GOODBYE, 0, b"")
        for queue in (self.requests, self.urgent):
            if queue is not None:
                queue.close()
        self.reply.close()
        Queue.unlink(self.reply_name)


def fingerprint_of(described):
    """sha256 of the canonical JSON of the service's shape, first 32 hex digits."""
    keys = ("input", "output", "priority", "oneWay", "stream")  # "stream" only on streaming methods
    methods = {name: {k: m[k] for k in keys if k in m} for name, m in described["methods"].items()}
    shape = {"name": described["name"], "methods": methods, "events": described["events"]}
    text = json.dumps(shape, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def say(step, value):
    print("%s %s" % (step, json.dumps(value, sort_keys=True)), flush=True)


def error_of(fn):
    try:
        fn()
    except RpcError as error:
        return {"code": error.code, "message": error.message}
    raise ProtocolError("expected an error")


def scenario(client):
    welcome = client.connect()
    say("welcome", welcome)

    say("add", client.call("add", {"a": 2, "b": 3.5}))
    say("divide", error_of(lambda: client.call("divide", {"a": 1, "b": 0})))
    data = bytes(range(256))
    say("checksum", client.call("checksum", {"data": data}))

    # Three small REQUESTs coalesced in one queue message; replies may come
    # back in any order, coalesced too, and are matched by callId.
    ids = [client.new_call_id() for _ in range(3)]
    message = b"".join(
        encode_frames(REQUEST, 0, client.token, call_id, packb(["add", {"a": i, "b": 100}, None]), 0xFFFF)[0]
        for i, call_id in enumerate(ids)
    )
    client.requests.send(message, NORMAL_PRIORITY)
    say("pipelined", [client.result(call_id)[0] for call_id in ids])

    big = bytes(i % 251 for i in range(20000))
    chunk = client.max_chunk(client.requests)
    value, _ = client.result(client.send_request("checksum", {"data": big}))
    say("checksum20k", {"result": value, "requestFrames": -(-len(packb(["checksum", {"data": big}, None])) // chunk)})

    described, frames = client.result(client.send_request("$describe", None))
    say("describe", {
        "name": described["name"],
        "protocol": described["protocol"],
        "methods": sorted(described["methods"]),
        "replyFrames": frames,
        "replyBytes": len(packb(described)),
        "replyMessageSize": client.reply.message_size,
    })

    # The schema fingerprint, computed from $describe as docs/PROTOCOL.md
    # section 13 says, equals the one the server sent in WELCOME.
    say("fingerprint", {"matchesWelcome": fingerprint_of(described) == welcome["fingerprint"]})

    past = int(time.time() * 1000) - 1000
    say("late", error_of(lambda: client.call("add", {"a": 1, "b": 1}, deadline_ms=past)))
    future = int(time.time() * 1000) + 60000
    say("deadline", client.call("add", {"a": 1, "b": 1}, deadline_ms=future))
    say("unknown", error_of(lambda: client.call("nope", {})))
    say("invalid", error_of(lambda: client.call("add", {"a": "x", "b": 1})))

    client.send_request("log", {"line": "hello from python"}, one_way=True)
    say("stop", client.call("stop", {}, urgent=True))

    before = client.pongs
    client.write(PING, 0, b"")
    client.wait_for(lambda: client.pongs > before, "PONG")
    say("pong", True)

    print("ready", flush=True)
    client.wait_for(lambda: len(client.events) > 0, "an EVENT", timeout_s=15.0)
    seq, name, payload = client.events[0]
    say("event", {"name": name, "payload": payload, "seq": seq})
    say("heartbeat", {"pongs": client.pongs})
    say("forged", client.forged)
    say("shortFrames", {"received": client.short_received, "replies": client.short_replies})


def batch_scenario(client, n):
    """n calls sent at once, packed into one queue message (short frames after the first when agreed)."""
    welcome = client.connect()
    say("welcome", welcome)
    calls = [("add", {"a": i, "b": 1000}) for i in range(n)]
    calls[n // 2] = ("divide", {"a": 1, "b": 0})  # one ERROR among the RESPONSEs
    ids, messages, shorts = client.send_batch(calls)
    results = []
    for call_id in ids:
        try:
            results.append(client.result(call_id)[0])
        except RpcError as error:
            results.append({"code": error.code, "message": error.message})
    say("batch", {"results": results, "messages": messages, "shortSent": shorts})
    # A reply larger than the reply queue's messages still comes as full frames.
    described = client.call("$describe", None)
    say("describe", {"name": described["name"], "fingerprintMatches": fingerprint_of(described) == welcome["fingerprint"]})
    say("shortFrames", {
        "received": client.short_received,
        "replies": client.short_replies,
        "malformed": client.malformed,
        "forged": client.forged,
    })


def stream_scenario(client):
    """Against the "streams" service of test/fixtures/stream-service.ts."""
    welcome = client.connect()
    items = [element["n"] for element in client.call_stream("count", {"tag": "python", "to": 40})]
    call_id = client.next_id
    say("stream", {
        "count": len(items),
        "inOrder": items == list(range(40)),
        "granted": client.granted[call_id],
        "received": client.received[call_id],
    })
    say("streamError", error_of(lambda: list(client.call_stream("count", {"tag": "python-fail", "to": 40, "failAt": 20}))))
    described = client.call("$describe", None)
    say("streamDescribe", {
        "stream": described["methods"]["count"].get("stream"),
        "fingerprintMatches": fingerprint_of(described) == welcome["fingerprint"],
    })


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queue")
    parser.add_argument("--service", default="calc")
    parser.add_argument("--fingerprint", default=None)
    parser.add_argument("--reply-size", type=int, default=512)
    parser.add_argument("--reply-mode", type=lambda s: int(s, 8), default=0o622)
    parser.add_argument("--expect-reject", action="store_true")
    parser.add_argument("--streams", action="store_true", help="consume a server stream (the streams test service)")
    parser.add_argument(
        "--short-frames", action="store_true",
        help="say shortFrames in HELLO, read short frames, and write them when WELCOME says the server reads them",
    )
    parser.add_argument("--batch", type=int, default=None, metavar="N", help="send N calls at once, packed in one message")
    args = parser.parse_args()

    client = Client(args.queue, args.reply_size, args.reply_mode, args.service, args.fingerprint, args.short_frames)
    try:
        if args.expect_reject:
            try:
                client.connect()
            except RpcError as error:
                details = error.details if isinstance(error.details, dict) else {}
                say("reject", {"code": error.code, "message": error.message, "detailKeys": sorted(details)})
                return 0
            raise ProtocolError("the server accepted the session")
        if args.streams:
            stream_scenario(client)
        elif args.batch is not None:
            batch_scenario(client, args.batch)
        else:
            scenario(client)
        return 0
    except (ProtocolError, RpcError, OSError) as error:
        print("error %s" % error, file=sys.stderr, flush=True)
        return 1
    finally:
        client.goodbye_and_close()
        print("bye", flush=True)


if __name__ == "__main__":
    sys.exit(main())
