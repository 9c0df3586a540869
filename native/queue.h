#pragma once

#include <napi.h>

namespace mqrpc {

// Registers the queue syscalls (open, close, unlink, send, receive,
// receiveMany, getattr, setattr, fstat) on `exports`.
void InitQueue(Napi::Env env, Napi::Object exports);

}  // namespace mqrpc
