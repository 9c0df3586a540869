#pragma once

#include <napi.h>

namespace mqrpc {

// Registers `unlink(name)` and the Queue class on `exports`. A Queue owns
// one queue descriptor and the libuv poll handle on it, and releases both
// on close(), when it is garbage-collected, and when its environment (the
// main thread or a worker) is torn down.
void InitQueue(Napi::Env env, Napi::Object exports);

}  // namespace mqrpc
