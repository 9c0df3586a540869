// Thin, non-blocking bindings of the POSIX message queue syscalls.
// Every descriptor is opened with O_NONBLOCK, so no call here can park the
// main thread: "would block" comes back as a value (false / -1), and waiting
// is the job of the Watcher (libuv poll) and the JS layer above it.
#include "queue.h"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "errors.h"

namespace mqrpc {
namespace {

constexpr int kAccessRead = 1;
constexpr int kAccessWrite = 2;

bool ReadFd(const Napi::CallbackInfo& info, size_t index, mqd_t* fd) {
  if (info.Length() <= index || !info[index].IsNumber()) {
    ThrowType(info.Env(), "queue descriptor must be a number");
    return false;
  }
  *fd = info[index].As<Napi::Number>().Int32Value();
  return true;
}

int AccessFlags(int access) {
  if (access == (kAccessRead | kAccessWrite)) return O_RDWR;
  if (access == kAccessWrite) return O_WRONLY;
  return O_RDONLY;
}

// open(name, access, create, exclusive, mode, maxMessages, messageSize)
//   -> [fd, created]
// With create && !exclusive we first try O_EXCL so that we know whether we
// made the queue: only a queue we created gets its mode set with fchmod
// (mq_open filters the mode through the umask; fchmod restores the mode the
// caller asked for), and a queue someone else made is left as it is.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7 || !info[0].IsString()) {
    ThrowType(env, "open(name, access, create, exclusive, mode, maxMessages, messageSize)");
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int access = info[1].As<Napi::Number>().Int32Value();
  bool create = info[2].ToBoolean();
  bool exclusive = info[3].ToBoolean();
  mode_t mode = static_cast<mode_t>(info[4].As<Napi::Number>().Uint32Value());
  long max_messages = info[5].As<Napi::Number>().Int64Value();
  long message_size = info[6].As<Napi::Number>().Int64Value();

  int flags = AccessFlags(access) | O_NONBLOCK | O_CLOEXEC;
  mqd_t fd = static_cast<mqd_t>(-1);
  bool created = false;
  if (create) {
    struct mq_attr attr = {};
    attr.mq_maxmsg = max_messages;
    attr.mq_msgsize = message_size;
    fd = mq_open(name.c_str(), flags | O_CREAT | O_EXCL, mode, &attr);
    if (fd != static_cast<mqd_t>(-1)) {
      created = true;
    } else if (errno != EEXIST || exclusive) {
      ThrowErrno(env, errno, "mq_open");
      return env.Undefined();
    }
  }
  if (!created) {
    fd = mq_open(name.c_str(), flags);
    if (fd == static_cast<mqd_t>(-1)) {
      ThrowErrno(env, errno, "mq_open");
      return env.Undefined();
    }
  }
  if (created && fchmod(fd, mode) != 0) {
    int err = errno;
    mq_close(fd);
    mq_unlink(name.c_str());
    ThrowErrno(env, err, "fchmod");
    return env.Undefined();
  }
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, fd));
  result.Set(1u, Napi::Boolean::New(env, created));
  return result;
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  mqd_t fd;
  if (!ReadFd(info, 0, &fd)) return info.Env().Undefined();
  if (mq_close(fd) != 0) ThrowErrno(info.Env(), errno, "mq_close");
  return info.Env().Undefined();
}

Napi::Value Unlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowType(env, "unlink(name)");
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (mq_unlink(name.c_str()) != 0) ThrowErrno(env, errno, "mq_unlink");
  return env.Undefined();
}

// send(fd, bytes, priority) -> true when sent, false when the queue is full.
Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  mqd_t fd;
  if (!ReadFd(info, 0, &fd)) return env.Undefined();
  if (info.Length() < 3 || !info[1].IsTypedArray()) {
    ThrowType(env, "send(fd, bytes, priority)");
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  unsigned priority = info[2].As<Napi::Number>().Uint32Value();
  const char* data = reinterpret_cast<const char*>(bytes.Data());
  for (;;) {
    if (mq_send(fd, data, bytes.ByteLength(), priority) == 0) return Napi::Boolean::New(env, true);
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return Napi::Boolean::New(env, false);
    ThrowErrno(env, errno, "mq_send");
    return env.Undefined();
  }
}

// receiveMany(fd, buffer, slotSize, lengths, priorities, max) -> count.
// Reads up to `max` waiting messages into consecutive slots of `buffer`,
// each slot `slotSize` bytes (at least the queue's mq_msgsize), so a burst
// costs one crossing into C++ instead of one per message. Returns 0 when
// the queue is empty.
Napi::Value ReceiveMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  mqd_t fd;
  if (!ReadFd(info, 0, &fd)) return env.Undefined();
  if (info.Length() < 6 || !info[1].IsTypedArray() || !info[3].IsTypedArray() ||
      !info[4].IsTypedArray()) {
    ThrowType(env, "receiveMany(fd, buffer, slotSize, lengths, priorities, max)");
    return env.Undefined();
  }
  Napi::Uint8Array buffer = info[1].As<Napi::Uint8Array>();
  size_t slot_size = info[2].As<Napi::Number>().Uint32Value();
  Napi::Int32Array lengths = info[3].As<Napi::Int32Array>();
  Napi::Uint32Array priorities = info[4].As<Napi::Uint32Array>();
  size_t max = info[5].As<Napi::Number>().Uint32Value();
  size_t slots = slot_size == 0 ? 0 : buffer.ByteLength() / slot_size;
  if (max > slots) max = slots;
  if (max > lengths.ElementLength()) max = lengths.ElementLength();
  if (max > priorities.ElementLength()) max = priorities.ElementLength();

  char* base = reinterpret_cast<char*>(buffer.Data());
  size_t count = 0;
  while (count < max) {
    unsigned priority = 0;
    ssize_t n = mq_receive(fd, base + count * slot_size, slot_size, &priority);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      // Messages already taken must not be lost: report them now; the
      // error will come back on the next call.
      if (count > 0) break;
      ThrowErrno(env, errno, "mq_receive");
      return env.Undefined();
    }
    lengths[count] = static_cast<int32_t>(n);
    priorities[count] = priority;
    ++count;
  }
  return Napi::Number::New(env, static_cast<double>(count));
}

Napi::Value AttrArray(Napi::Env env, const struct mq_attr& attr) {
  Napi::Array result = Napi::Array::New(env, 4);
  result.Set(0u, Napi::Number::New(env, static_cast<double>(attr.mq_flags)));
  result.Set(1u, Napi::Number::New(env, static_cast<double>(attr.mq_maxmsg)));
  result.Set(2u, Napi::Number::New(env, static_cast<double>(attr.mq_msgsize)));
  result.Set(3u, Napi::Number::New(env, static_cast<double>(attr.mq_curmsgs)));
  return result;
}

// getattr(fd) -> [flags, maxMessages, messageSize, currentMessages]
Napi::Value GetAttr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  mqd_t fd;
  if (!ReadFd(info, 0, &fd)) return env.Undefined();
  struct mq_attr attr = {};
  if (mq_getattr(fd, &attr) != 0) {
    ThrowErrno(env, errno, "mq_getattr");
    return env.Undefined();
  }
  return AttrArray(env, attr);
}

// setattr(fd, flags) -> previous attributes. Only O_NONBLOCK can change
// (a kernel rule); the JS layer never clears it.
Napi::Value SetAttr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  mqd_t fd;
  if (!ReadFd(info, 0, &fd)) return env.Undefined();
  struct mq_attr attr = {};
  struct mq_attr old = {};
  attr.mq_flags = info[1].As<Napi::Number>().Int64Value();
  if (mq_setattr(fd, &attr, &old) != 0) {
    ThrowErrno(env, errno, "mq_setattr");
    return env.Undefined();
  }
  return AttrArray(env, old);
}

// fstat(fd) -> [uid, gid, mode]: the queue's owner, which is the identity
// the kernel recorded for whoever created it.
Napi::Value Fstat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  mqd_t fd;
  if (!ReadFd(info, 0, &fd)) return env.Undefined();
  struct stat st = {};
  if (fstat(fd, &st) != 0) {
    ThrowErrno(env, errno, "fstat");
    return env.Undefined();
  }
  Napi::Array result = Napi::Array::New(env, 3);
  result.Set(0u, Napi::Number::New(env, st.st_uid));
  result.Set(1u, Napi::Number::New(env, st.st_gid));
  result.Set(2u, Napi::Number::New(env, st.st_mode & 07777));
  return result;
}

}  // namespace

void InitQueue(Napi::Env env, Napi::Object exports) {
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("unlink", Napi::Function::New(env, Unlink, "unlink"));
  exports.Set("send", Napi::Function::New(env, Send, "send"));
  exports.Set("receiveMany", Napi::Function::New(env, ReceiveMany, "receiveMany"));
  exports.Set("getattr", Napi::Function::New(env, GetAttr, "getattr"));
  exports.Set("setattr", Napi::Function::New(env, SetAttr, "setattr"));
  exports.Set("fstat", Napi::Function::New(env, Fstat, "fstat"));
}

}  // namespace mqrpc
