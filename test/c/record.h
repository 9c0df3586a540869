/*
 * The record the interop tests exchange: the classic "send a struct" sample.
 *
 * Layout (32 bytes, no padding, host byte order; the tests run on
 * little-endian machines and check os.endianness() before decoding):
 *   offset 0   uint32_t seq
 *   offset 4   int32_t  value
 *   offset 8   char     text[24]   NUL-padded, always NUL-terminated
 */
#ifndef MQT_RECORD_H
#define MQT_RECORD_H

#include <stddef.h>
#include <stdint.h>

struct record {
  uint32_t seq;
  int32_t value;
  char text[24];
};

_Static_assert(sizeof(struct record) == 32, "record must be 32 bytes");
_Static_assert(offsetof(struct record, value) == 4, "value at offset 4");
_Static_assert(offsetof(struct record, text) == 8, "text at offset 8");

#endif
