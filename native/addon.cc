#include <napi.h>

#include "queue.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  mqrpc::InitQueue(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(mqrpc_native, Init)
