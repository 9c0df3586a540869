// A POSIX message queue descriptor, owned by a JavaScript object.
//
// Thin, non-blocking bindings of the message queue syscalls. Every
// descriptor is opened with O_NONBLOCK, so no call here can park the main
// thread: "would block" comes back as a value (false / 0), and waiting is
// the job of the poll handle (watcher.h) and the JS layer above it.
//
// Ownership. The descriptor never travels to JavaScript as a number: a Queue
// object holds it together with its poll handle, and releases both (the
// handle through uv_close, then mq_close) in whichever comes first of
//   - close(), the explicit way;
//   - the object's finalizer, when JavaScript drops it unclosed;
//   - an environment cleanup hook, when the environment ends (a worker
//     thread that exits or is terminated, like zeromq.js's reaper).
//
// Reachability. The callback given to watch() is held by a strong
// reference, and the Queue object pins itself, only while the poll is
// active: a wait in progress keeps its queue (and whoever the callback
// reaches) alive, as a listening socket does. With nothing waiting, no
// native root points at the callback or the object, so a queue that is
// dropped unclosed can be collected, and its descriptor is closed then.
#include "queue.h"

#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "errors.h"
#include "watcher.h"

namespace mqrpc {
namespace {

constexpr int kAccessRead = 1;
constexpr int kAccessWrite = 2;
constexpr int kReadable = 1;
constexpr int kWritable = 2;
constexpr mqd_t kNoQueue = static_cast<mqd_t>(-1);

int AccessFlags(int access) {
  if (access == (kAccessRead | kAccessWrite)) return O_RDWR;
  if (access == kAccessWrite) return O_WRONLY;
  return O_RDONLY;
}

Napi::Value AttrArray(Napi::Env env, const struct mq_attr& attr) {
  Napi::Array result = Napi::Array::New(env, 4);
  result.Set(0u, Napi::Number::New(env, static_cast<double>(attr.mq_flags)));
  result.Set(1u, Napi::Number::New(env, static_cast<double>(attr.mq_maxmsg)));
  result.Set(2u, Napi::Number::New(env, static_cast<double>(attr.mq_msgsize)));
  result.Set(3u, Napi::Number::New(env, static_cast<double>(attr.mq_curmsgs)));
  return result;
}

class Queue : public Napi::ObjectWrap<Queue> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Queue",
                       {
                           InstanceAccessor<&Queue::Created>("created"),
                           InstanceAccessor<&Queue::IsOpen>("isOpen"),
                           // send, receiveMany and watch are each queue's own (BindHotMethods).
                           InstanceMethod<&Queue::BindReceive>("bindReceive"),
                           InstanceMethod<&Queue::PairWith>("pairWith"),
                           InstanceMethod<&Queue::GetAttr>("getattr"),
                           InstanceMethod<&Queue::SetAttr>("setattr"),
                           InstanceMethod<&Queue::Fstat>("fstat"),
                           InstanceMethod<&Queue::Close>("close"),
                       });
  }

  // new Queue(name, access, create, exclusive, mode, maxMessages, messageSize)
  // With create && !exclusive we first try O_EXCL so that we know whether we
  // made the queue: only a queue we created gets its mode set with fchmod
  // (mq_open filters the mode through the umask; fchmod restores the mode the
  // caller asked for), and a queue someone else made is left as it is.
  explicit Queue(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Queue>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 7 || !info[0].IsString() || !info[1].IsNumber() || !info[4].IsNumber() ||
        !info[5].IsNumber() || !info[6].IsNumber()) {
      ThrowType(env, "new Queue(name, access, create, exclusive, mode, maxMessages, messageSize)");
      return;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "no libuv loop for this environment").ThrowAsJavaScriptException();
      return;
    }
    std::string name = info[0].As<Napi::String>().Utf8Value();
    int access = info[1].As<Napi::Number>().Int32Value();
    bool create = info[2].ToBoolean();
    bool exclusive = info[3].ToBoolean();
    mode_t mode = static_cast<mode_t>(info[4].As<Napi::Number>().Uint32Value());
    long max_messages = info[5].As<Napi::Number>().Int64Value();
    long message_size = info[6].As<Napi::Number>().Int64Value();

    int flags = AccessFlags(access) | O_NONBLOCK | O_CLOEXEC;
    mqd_t fd = kNoQueue;
    bool created = false;
    if (create) {
      struct mq_attr attr = {};
      attr.mq_maxmsg = max_messages;
      attr.mq_msgsize = message_size;
      fd = mq_open(name.c_str(), flags | O_CREAT | O_EXCL, mode, &attr);
      if (fd != kNoQueue) {
        created = true;
      } else if (errno != EEXIST || exclusive) {
        ThrowErrno(env, errno, "mq_open");
        return;
      }
    }
    if (!created) {
      fd = mq_open(name.c_str(), flags);
      if (fd == kNoQueue) {
        ThrowErrno(env, errno, "mq_open");
        return;
      }
    }
    if (created && fchmod(fd, mode) != 0) {
      int err = errno;
      mq_close(fd);
      mq_unlink(name.c_str());
      ThrowErrno(env, err, "fchmod");
      return;
    }
    int rc = watcher_.Init(loop, fd, OnReady, this);
    if (rc != 0) {
      mq_close(fd);
      if (created) mq_unlink(name.c_str());
      ThrowErrno(env, -rc, "uv_poll_init");
      return;
    }
    if (napi_add_env_cleanup_hook(env, OnEnvCleanup, this) != napi_ok) {
      watcher_.Close();
      mq_close(fd);
      if (created) mq_unlink(name.c_str());
      Napi::Error::New(env, "cannot register the queue with its environment").ThrowAsJavaScriptException();
      return;
    }
    hooked_ = true;
    fd_ = fd;
    created_ = created;
    BindHotMethods(env, info.This().As<Napi::Object>());
  }

  // The finalizer of a queue dropped unclosed, or the environment's final
  // sweep. Only the OS resources are released here; the references are
  // members, released by their own destructors.
  ~Queue() override {
    ReleaseResources();
    if (hooked_) {
      hooked_ = false;
      napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
    }
  }

 private:
  // The environment ends (a worker exits or is terminated; the main thread
  // at its end): close the handle and the descriptor now, whether or not
  // the finalizer ever runs. Node runs the loop once more for uv_close.
  static void OnEnvCleanup(void* arg) {
    auto* self = static_cast<Queue*>(arg);
    self->hooked_ = false;
    self->ReleaseResources();
  }

  // Closes the poll handle (uv_close) and then the descriptor. Returns the
  // errno of a failed mq_close, or 0.
  int ReleaseResources() {
    watcher_.Close();
    partner_ = nullptr;
    partner_ref_.Reset();
    if (fd_ == kNoQueue) return 0;
    int err = mq_close(fd_) == 0 ? 0 : errno;
    fd_ = kNoQueue;
    return err;
  }

  // Lets go of the callback and of the pin: nothing native keeps the queue alive.
  void Unpin() {
    callback_.Reset();
    if (pinned_) {
      pinned_ = false;
      Unref();
    }
  }

  // The calls made per message, send, receiveMany and watch, become functions
  // of this queue's own (own properties, found before the prototype's): they
  // reach the queue through their data pointer, where a prototype method
  // unwraps `this` (napi_unwrap, a private-symbol lookup through V8's
  // generic property path: about 375 instructions per call, about 2,400 per
  // RPC call on a busy server). Each function holds the queue object, so
  // none can be called after the queue is collected.
  template <Napi::Value (Queue::*method)(const Napi::CallbackInfo&)>
  static Napi::Value Bound(const Napi::CallbackInfo& info) {
    return (static_cast<Queue*>(info.Data())->*method)(info);
  }

  template <Napi::Value (Queue::*method)(const Napi::CallbackInfo&)>
  void Bind(Napi::Env env, Napi::Object self, const char* name) {
    Napi::Function function = Napi::Function::New<Bound<method>>(env, name, this);
    function.Set("queue", self);
    self.Set(name, function);
  }

  void BindHotMethods(Napi::Env env, Napi::Object self) {
    Bind<&Queue::Send>(env, self, "send");
    Bind<&Queue::ReceiveMany>(env, self, "receiveMany");
    Bind<&Queue::PairWaiting>(env, self, "pairWaiting");
    Bind<&Queue::Watch>(env, self, "watch");
  }

  bool CheckOpen(Napi::Env env, const char* syscall) {
    if (fd_ != kNoQueue) return true;
    ThrowErrno(env, EBADF, syscall);
    return false;
  }

  Napi::Value Created(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), created_); }

  Napi::Value IsOpen(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), fd_ != kNoQueue); }

  // send(bytes, priority) -> true when sent, false when the queue is full.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "mq_send")) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
      ThrowType(env, "send(bytes, priority)");
      return env.Undefined();
    }
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    unsigned priority = info[1].As<Napi::Number>().Uint32Value();
    const char* data = reinterpret_cast<const char*>(bytes.Data());
    for (;;) {
      if (mq_send(fd_, data, bytes.ByteLength(), priority) == 0) return Napi::Boolean::New(env, true);
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return Napi::Boolean::New(env, false);
      ThrowErrno(env, errno, "mq_send");
      return env.Undefined();
    }
  }

  // bindReceive(buffer, slotSize, lengths, priorities): the arrays every
  // receive fills from now on, bound once so that a receive costs no
  // look-ups of typed arrays. Held by references: JavaScript cannot free
  // them while bound, and an ArrayBuffer's memory never moves.
  Napi::Value BindReceive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsTypedArray() ||
        !info[3].IsTypedArray()) {
      ThrowType(env, "bindReceive(buffer, slotSize, lengths, priorities)");
      return env.Undefined();
    }
    Napi::Uint8Array buffer = info[0].As<Napi::Uint8Array>();
    Napi::Int32Array lengths = info[2].As<Napi::Int32Array>();
    Napi::Uint32Array priorities = info[3].As<Napi::Uint32Array>();
    size_t slot_size = info[1].As<Napi::Number>().Uint32Value();
    size_t slots = slot_size == 0 ? 0 : buffer.ByteLength() / slot_size;
    if (slots > lengths.ElementLength()) slots = lengths.ElementLength();
    if (slots > priorities.ElementLength()) slots = priorities.ElementLength();
    bound_buffer_ = Napi::Persistent(static_cast<Napi::Object>(buffer));
    bound_lengths_ = Napi::Persistent(static_cast<Napi::Object>(lengths));
    bound_priorities_ = Napi::Persistent(static_cast<Napi::Object>(priorities));
    recv_base_ = reinterpret_cast<char*>(buffer.Data());
    recv_lengths_ = lengths.Data();
    recv_priorities_ = priorities.Data();
    recv_slot_size_ = slot_size;
    recv_slots_ = slots;
    return env.Undefined();
  }

  // Reads up to `max` waiting messages into the bound slots. Returns how
  // many (0 when the queue is empty), or -errno when the first read fails;
  // a failure after some messages ends the batch (messages already taken
  // must not be lost) and comes back on the next read.
  long Drain(size_t max) {
    if (fd_ == kNoQueue) return -EBADF;
    if (max > recv_slots_) max = recv_slots_;
    size_t count = 0;
    while (count < max) {
      unsigned priority = 0;
      ssize_t n = mq_receive(fd_, recv_base_ + count * recv_slot_size_, recv_slot_size_, &priority);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || count > 0) break;
        return -errno;
      }
      recv_lengths_[count] = static_cast<int32_t>(n);
      recv_priorities_[count] = priority;
      ++count;
    }
    return static_cast<long>(count);
  }

  // receiveMany(max) -> count: up to `max` waiting messages into the slots
  // bound by bindReceive, so a burst costs one crossing into C++ instead of
  // one per message. Returns 0 when the queue is empty.
  Napi::Value ReceiveMany(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "mq_receive")) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      ThrowType(env, "receiveMany(max)");
      return env.Undefined();
    }
    long count = Drain(info[0].As<Napi::Number>().Uint32Value());
    if (count < 0) {
      ThrowErrno(env, static_cast<int>(-count), "mq_receive");
      return env.Undefined();
    }
    return Napi::Number::New(env, static_cast<double>(count));
  }

  // pairWith(other): the queue pairWaiting() also looks at (a service's
  // other lane). Held strongly until this queue is released, so the pointer
  // stays good; a released partner's descriptor is -1, which poll() skips.
  Napi::Value PairWith(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      ThrowType(env, "pairWith(queue)");
      return env.Undefined();
    }
    Napi::Object other = info[0].As<Napi::Object>();
    partner_ = Napi::ObjectWrap<Queue>::Unwrap(other);
    if (partner_ == nullptr) return env.Undefined();  // Unwrap threw
    partner_ref_.Reset(other, 1);
    return env.Undefined();
  }

  // pairWaiting() -> bits: whether this queue (1) and its partner (2) have a
  // message waiting, in one poll() where reading each would be two failing
  // receives when both are empty. An error or a closed descriptor sets the
  // bit, so that the read which follows reports it.
  Napi::Value PairWaiting(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    struct pollfd fds[2] = {{fd_, POLLIN, 0}, {partner_ == nullptr ? kNoQueue : partner_->fd_, POLLIN, 0}};
    int n;
    do {
      n = poll(fds, 2, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      ThrowErrno(env, errno, "poll");
      return env.Undefined();
    }
    int bits = 0;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents != 0) bits |= 1 << i;
    }
    return Napi::Number::New(env, bits);
  }

  // getattr() -> [flags, maxMessages, messageSize, currentMessages]
  Napi::Value GetAttr(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "mq_getattr")) return env.Undefined();
    struct mq_attr attr = {};
    if (mq_getattr(fd_, &attr) != 0) {
      ThrowErrno(env, errno, "mq_getattr");
      return env.Undefined();
    }
    return AttrArray(env, attr);
  }

  // setattr(flags) -> previous attributes. Only O_NONBLOCK can change (a
  // kernel rule); the JS layer never clears it.
  Napi::Value SetAttr(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "mq_setattr")) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      ThrowType(env, "setattr(flags)");
      return env.Undefined();
    }
    struct mq_attr attr = {};
    struct mq_attr old = {};
    attr.mq_flags = info[0].As<Napi::Number>().Int64Value();
    if (mq_setattr(fd_, &attr, &old) != 0) {
      ThrowErrno(env, errno, "mq_setattr");
      return env.Undefined();
    }
    return AttrArray(env, old);
  }

  // fstat() -> [uid, gid, mode]: the queue's owner, which is the identity
  // the kernel recorded for whoever created it.
  Napi::Value Fstat(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "fstat")) return env.Undefined();
    struct stat st = {};
    if (fstat(fd_, &st) != 0) {
      ThrowErrno(env, errno, "fstat");
      return env.Undefined();
    }
    Napi::Array result = Napi::Array::New(env, 3);
    result.Set(0u, Napi::Number::New(env, st.st_uid));
    result.Set(1u, Napi::Number::New(env, st.st_gid));
    result.Set(2u, Napi::Number::New(env, st.st_mode & 07777));
    return result;
  }

  // watch(events, callback(status, events, drained, receiveErrno), drainMax):
  // events is a mask of 1 (readable) and 2 (writable); 0 stops watching and
  // lets go of the callback. With drainMax > 0, a readable queue is read
  // here, up to drainMax messages into the bound slots, before the callback
  // hears of it: one crossing per wake-up instead of two. `drained` says
  // how many (-1 when nothing was read here); a failed first read passes
  // its errno and leaves the messages for JavaScript to read.
  // While watching, the callback and this object are held strongly (a wait
  // in progress keeps its queue alive); otherwise not.
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "poll")) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      ThrowType(env, "watch(events, callback)");
      return env.Undefined();
    }
    int mask = info[0].As<Napi::Number>().Int32Value();
    int events = 0;
    if (mask & kReadable) events |= UV_READABLE;
    if (mask & kWritable) events |= UV_WRITABLE;
    if (events == 0) {
      watcher_.Stop();
      Unpin();
      return env.Undefined();
    }
    if (info.Length() < 2 || !info[1].IsFunction()) {
      ThrowType(env, "watch(events, callback)");
      return env.Undefined();
    }
    int rc = watcher_.Start(events);
    if (rc != 0) {
      ThrowErrno(env, -rc, "uv_poll_start");
      return env.Undefined();
    }
    Napi::Function callback = info[1].As<Napi::Function>();
    if (callback_.IsEmpty() || callback_.Value() != callback) callback_ = Napi::Persistent(callback);
    drain_max_ = info.Length() >= 3 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
    if (!pinned_) {
      pinned_ = true;
      Ref();
    }
    return env.Undefined();
  }

  // close(): releases the poll handle and the descriptor; idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (hooked_) {
      hooked_ = false;
      napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
    }
    int err = ReleaseResources();
    Unpin();
    if (err != 0) ThrowErrno(env, err, "mq_close");
    return env.Undefined();
  }

  // From libuv's poll phase. Plain Node-API calls, each checked: while a
  // worker is being terminated JavaScript can no longer run, and a poll that
  // fires then must be dropped quietly, not turned into a fatal error.
  static void OnReady(void* owner, int status, int uv_events) {
    auto* self = static_cast<Queue*>(owner);
    if (self->callback_.IsEmpty()) return;
    napi_env env = self->env_;
    napi_handle_scope scope = nullptr;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    // Local handles keep this object and the callback alive through the
    // call, even if the callback closes the queue or stops watching.
    napi_value receiver = nullptr;
    napi_value callback = nullptr;
    napi_value argv[4] = {nullptr, nullptr, nullptr, nullptr};
    int mask = 0;
    if (uv_events & UV_READABLE) mask |= kReadable;
    if (uv_events & UV_WRITABLE) mask |= kWritable;
    long drained = -1;
    int receive_errno = 0;
    if (status >= 0 && (mask & kReadable) && self->drain_max_ > 0) {
      long n = self->Drain(self->drain_max_);
      if (n >= 0) drained = n;
      else receive_errno = static_cast<int>(-n);
    }
    napi_ref self_ref = static_cast<const Napi::Reference<Napi::Object>&>(*self);
    napi_ref callback_ref = self->callback_;
    if (napi_get_reference_value(env, self_ref, &receiver) == napi_ok && receiver != nullptr &&
        napi_get_reference_value(env, callback_ref, &callback) == napi_ok && callback != nullptr &&
        napi_create_uint32(env, static_cast<uint32_t>(status < 0 ? -status : 0), &argv[0]) == napi_ok &&
        napi_create_uint32(env, static_cast<uint32_t>(mask), &argv[1]) == napi_ok &&
        napi_create_int32(env, static_cast<int32_t>(drained), &argv[2]) == napi_ok &&
        napi_create_int32(env, receive_errno, &argv[3]) == napi_ok) {
      // napi_make_callback, not napi_call_function: it runs the microtask
      // queue afterwards, so promises settled by the callback resume before
      // libuv polls again.
      napi_value result = nullptr;
      if (napi_make_callback(env, nullptr, receiver, callback, 4, argv, &result) != napi_ok) {
        // A throw from the callback has no JS caller to land in: report it
        // as an uncaught exception instead of leaving it pending in C++
        // (a no-op when the environment is being torn down).
        bool pending = false;
        napi_value error = nullptr;
        if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
            napi_get_and_clear_last_exception(env, &error) == napi_ok) {
          napi_fatal_exception(env, error);
        }
      }
    }
    napi_close_handle_scope(env, scope);
  }

  napi_env env_;
  mqd_t fd_ = kNoQueue;
  bool created_ = false;
  bool hooked_ = false;
  bool pinned_ = false;
  Watcher watcher_;
  Napi::FunctionReference callback_;
  // Messages read in OnReady before the callback runs (0: the callback reads).
  size_t drain_max_ = 0;
  // The other lane of pairWith, and the reference that keeps it alive.
  Queue* partner_ = nullptr;
  Napi::ObjectReference partner_ref_;
  // The receive slots of bindReceive, and the references that keep them alive.
  Napi::ObjectReference bound_buffer_;
  Napi::ObjectReference bound_lengths_;
  Napi::ObjectReference bound_priorities_;
  char* recv_base_ = nullptr;
  int32_t* recv_lengths_ = nullptr;
  uint32_t* recv_priorities_ = nullptr;
  size_t recv_slot_size_ = 0;
  size_t recv_slots_ = 0;
};

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

}  // namespace

void InitQueue(Napi::Env env, Napi::Object exports) {
  exports.Set("unlink", Napi::Function::New(env, Unlink, "unlink"));
  exports.Set("Queue", Queue::Define(env));
}

}  // namespace mqrpc
