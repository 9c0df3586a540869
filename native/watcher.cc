// See watcher.h. Every handle made here ends in uv_close, never in a bare
// delete: libuv may still hold it until the close callback runs.
#include "watcher.h"

namespace mqrpc {

int Watcher::Init(uv_loop_t* loop, int fd, Callback callback, void* owner) {
  Close();
  auto* handle = new uv_poll_t;
  int rc = uv_poll_init(loop, handle, fd);
  if (rc != 0) {
    // uv_poll_init failed before registering the handle with the loop.
    delete handle;
    return rc;
  }
  handle->data = this;
  handle_ = handle;
  callback_ = callback;
  owner_ = owner;
  return 0;
}

int Watcher::Start(int events) {
  if (handle_ == nullptr) return UV_EBADF;
  if (events == 0) {
    Stop();
    return 0;
  }
  int rc = uv_poll_start(handle_, events, OnPoll);
  if (rc == 0) active_ = true;
  return rc;
}

void Watcher::Stop() {
  if (handle_ != nullptr) uv_poll_stop(handle_);
  active_ = false;
}

void Watcher::Close() {
  if (handle_ == nullptr) return;
  uv_poll_stop(handle_);
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
  handle_ = nullptr;
  active_ = false;
}

void Watcher::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Watcher*>(handle->data);
  if (self == nullptr || self->callback_ == nullptr) return;
  self->callback_(self->owner_, status, events);
}

}  // namespace mqrpc
