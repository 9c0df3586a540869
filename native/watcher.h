#pragma once

#include <uv.h>

namespace mqrpc {

// Readiness of one descriptor, from libuv's poll phase: owns a uv_poll_t.
//
// On Linux a message queue descriptor is pollable: readable while a message
// waits, writable while a slot is free. Waiting for a queue costs no thread
// and never blocks the event loop. The handle is active only between Start()
// and Stop(), so an idle watcher never keeps the loop alive. Close() (and the
// destructor) hand the handle to uv_close, which frees it once libuv is done
// with it; the descriptor itself belongs to the owner, which closes it after
// Close().
class Watcher {
 public:
  // Called from the poll phase with libuv's status (0 or a negative error)
  // and the UV_READABLE / UV_WRITABLE bits that are ready.
  using Callback = void (*)(void* owner, int status, int events);

  Watcher() = default;
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;
  ~Watcher() { Close(); }

  // Makes the handle on `fd`; returns 0 or a libuv error.
  int Init(uv_loop_t* loop, int fd, Callback callback, void* owner);
  // Watches for a mask of UV_READABLE | UV_WRITABLE; 0 stops. Returns 0 or a libuv error.
  int Start(int events);
  void Stop();
  // Releases the handle through uv_close; idempotent. No callback comes after.
  void Close();

  bool open() const { return handle_ != nullptr; }
  bool active() const { return active_; }

 private:
  static void OnPoll(uv_poll_t* handle, int status, int events);

  uv_poll_t* handle_ = nullptr;
  Callback callback_ = nullptr;
  void* owner_ = nullptr;
  bool active_ = false;
};

}  // namespace mqrpc
