// Kernel errors as JavaScript errors shaped like Node's own fs errors:
// `code` is the errno name, plus `errno` and `syscall`. The JS layer adds
// the queue name and advice (src/transport/mq-error.ts); C++ stays terse.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mqrpc {

inline Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  // uv_err_name takes libuv's negative error numbers, which on Unix are -errno.
  std::string message = std::string(syscall) + " failed: " + std::strerror(err);
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, uv_err_name(-err)));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

inline void ThrowErrno(Napi::Env env, int err, const char* syscall) {
  ErrnoError(env, err, syscall).ThrowAsJavaScriptException();
}

inline void ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
}

}  // namespace mqrpc
