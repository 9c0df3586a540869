#pragma once

#include <napi.h>

namespace mqrpc {

// Registers the Watcher class: readable/writable readiness of a queue
// descriptor, reported from libuv's poll phase.
void InitWatcher(Napi::Env env, Napi::Object exports);

}  // namespace mqrpc
