// Readiness of a queue descriptor, from libuv's poll phase.
//
// On Linux a message queue descriptor is pollable: readable while a message
// waits, writable while a slot is free. A Watcher wraps one uv_poll_t on it,
// so waiting for a queue costs no thread and never blocks the event loop.
// The handle is active only between start() and stop(), so an idle watcher
// never keeps the process alive; close() releases it through uv_close.
#include "watcher.h"

#include <uv.h>

#include "errors.h"

namespace mqrpc {
namespace {

constexpr int kReadable = 1;
constexpr int kWritable = 2;

class Watcher : public Napi::ObjectWrap<Watcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Watcher",
                       {
                           InstanceMethod<&Watcher::Start>("start"),
                           InstanceMethod<&Watcher::Stop>("stop"),
                           InstanceMethod<&Watcher::Close>("close"),
                       });
  }

  // new Watcher(fd, callback(status, events))
  explicit Watcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Watcher>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
      ThrowType(env, "new Watcher(fd, callback)");
      return;
    }
    int fd = info[0].As<Napi::Number>().Int32Value();
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "no libuv loop for this environment").ThrowAsJavaScriptException();
      return;
    }
    handle_ = new uv_poll_t;
    int rc = uv_poll_init(loop, handle_, fd);
    if (rc != 0) {
      delete handle_;
      handle_ = nullptr;
      ThrowErrno(env, -rc, "uv_poll_init");
      return;
    }
    handle_->data = this;
  }

  ~Watcher() override { Release(); }

 private:
  // start(events): events is a mask of 1 (readable) and 2 (writable).
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ == nullptr) {
      Napi::Error::New(env, "watcher is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int mask = info[0].As<Napi::Number>().Int32Value();
    int events = 0;
    if (mask & kReadable) events |= UV_READABLE;
    if (mask & kWritable) events |= UV_WRITABLE;
    if (events == 0) {
      uv_poll_stop(handle_);
      return env.Undefined();
    }
    int rc = uv_poll_start(handle_, events, OnPoll);
    if (rc != 0) ThrowErrno(env, -rc, "uv_poll_start");
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_poll_stop(handle_);
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  void Release() {
    if (handle_ == nullptr) return;
    uv_poll_stop(handle_);
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    handle_ = nullptr;
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<Watcher*>(handle->data);
    if (self == nullptr) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    int mask = 0;
    if (events & UV_READABLE) mask |= kReadable;
    if (events & UV_WRITABLE) mask |= kWritable;
    // MakeCallback, not Call: it runs the microtask queue afterwards, so
    // promises settled by the callback resume before libuv polls again.
    self->callback_.MakeCallback(env.Global(), {Napi::Number::New(env, status < 0 ? -status : 0),
                                                Napi::Number::New(env, mask)});
    // A throw from the callback has no JS caller to land in: report it as
    // an uncaught exception instead of leaving it pending in C++.
    if (env.IsExceptionPending()) {
      Napi::Error error = env.GetAndClearPendingException();
      napi_fatal_exception(env, error.Value());
    }
  }

  Napi::FunctionReference callback_;
  uv_poll_t* handle_ = nullptr;
};

}  // namespace

void InitWatcher(Napi::Env env, Napi::Object exports) {
  exports.Set("Watcher", Watcher::Define(env));
}

}  // namespace mqrpc
