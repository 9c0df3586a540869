/*
 * sec_client REQUEST_QUEUE SERVICE REPLY_QUEUE METHOD
 *
 * A minimal mqrpc client written from docs/PROTOCOL.md alone, run by the
 * security tests under another uid. It creates REPLY_QUEUE (mode 0o622, set
 * again with fchmod past the umask), sends HELLO {protocol, service,
 * replyQueue, pid, nonce}, answers the CHALLENGE with a PROOF carrying the
 * token, waits for WELCOME, calls METHOD with input {} and prints one line:
 *
 *   response <hex of the msgpack body>     the call's RESPONSE
 *   error <hex of the msgpack body>        the call's ERROR
 *   reject <hex of the msgpack body>       the server refused the handshake
 *
 * Then it says GOODBYE and removes its reply queue. Failures go to stderr
 * with exit code 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"

#define HEADER 28
#define REPLY_SIZE 1024

enum { HELLO = 0x01, CHALLENGE = 0x02, PROOF = 0x03, WELCOME = 0x04, REJECT = 0x05,
       REQUEST = 0x10, RESPONSE = 0x11, ERROR = 0x12, GOODBYE = 0x40 };

static const char *reply_name;
static mqd_t reply = (mqd_t)-1, requests = (mqd_t)-1;

static void cleanup(void) {
  if (requests != (mqd_t)-1) mq_close(requests);
  if (reply != (mqd_t)-1) {
    mq_close(reply);
    mq_unlink(reply_name);
  }
}

static void die(const char *what) {
  fprintf(stderr, "sec_client: %s: %s\n", what, errname(errno));
  cleanup();
  exit(1);
}

static void put_le(uint8_t *at, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; i++) at[i] = (uint8_t)(value >> (8 * i));
}

static uint64_t get_le(const uint8_t *at, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; i--) value = (value << 8) | at[i];
  return value;
}

/* Sends one frame carrying `body` whole. */
static void send_frame(int type, uint64_t token, uint32_t call_id, const uint8_t *body, size_t length) {
  uint8_t frame[8192];
  if (HEADER + length > sizeof frame) {
    errno = EMSGSIZE;
    die("frame too large");
  }
  memset(frame, 0, HEADER);
  frame[0] = 1; /* version */
  frame[1] = (uint8_t)type;
  put_le(frame + 4, token, 8);
  put_le(frame + 12, call_id, 4);
  put_le(frame + 16, length, 4); /* bodyLength */
  put_le(frame + 20, 0, 4);      /* offset */
  put_le(frame + 24, length, 2); /* chunkLength */
  if (length > 0) memcpy(frame + HEADER, body, length);
  if (mq_send(requests, (const char *)frame, HEADER + length, 0) != 0) die("mq_send");
}

/* One received frame (bodies here always fit one frame). */
struct frame {
  int type;
  uint64_t token;
  uint32_t call_id;
  uint8_t body[REPLY_SIZE];
  size_t length;
};

static uint8_t message[REPLY_SIZE];
static size_t message_length, message_at;

/* The next frame, reading a new message when the last one is used up. */
static void next_frame(struct frame *f) {
  while (message_at >= message_length) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    ssize_t got = mq_timedreceive(reply, (char *)message, sizeof message, NULL, &deadline);
    if (got < 0) die("mq_timedreceive");
    message_length = (size_t)got;
    message_at = 0;
  }
  const uint8_t *h = message + message_at;
  if (message_length - message_at < HEADER || h[0] != 1) {
    errno = EINVAL;
    die("malformed frame from the server");
  }
  f->type = h[1];
  f->token = get_le(h + 4, 8);
  f->call_id = (uint32_t)get_le(h + 12, 4);
  uint32_t body_length = (uint32_t)get_le(h + 16, 4);
  uint32_t offset = (uint32_t)get_le(h + 20, 4);
  uint32_t chunk = (uint32_t)get_le(h + 24, 2);
  if (offset != 0 || chunk != body_length || HEADER + chunk > message_length - message_at) {
    errno = EINVAL;
    die("fragmented or truncated frame");
  }
  memcpy(f->body, h + HEADER, chunk);
  f->length = chunk;
  message_at += HEADER + chunk;
}

static void print_hex(const char *label, const uint8_t *body, size_t length) {
  printf("%s ", label);
  for (size_t i = 0; i < length; i++) printf("%02x", body[i]);
  printf("\n");
  fflush(stdout);
}

/* msgpack writers: fixstr keys, str8 values, uint32, bin8. */
static size_t mp_str(uint8_t *at, const char *s) {
  size_t n = strlen(s);
  if (n < 32) {
    at[0] = (uint8_t)(0xa0 | n);
    memcpy(at + 1, s, n);
    return 1 + n;
  }
  at[0] = 0xd9;
  at[1] = (uint8_t)n;
  memcpy(at + 2, s, n);
  return 2 + n;
}

static size_t mp_u32(uint8_t *at, uint32_t v) {
  at[0] = 0xce;
  at[1] = (uint8_t)(v >> 24);
  at[2] = (uint8_t)(v >> 16);
  at[3] = (uint8_t)(v >> 8);
  at[4] = (uint8_t)v;
  return 5;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: sec_client REQUEST_QUEUE SERVICE REPLY_QUEUE METHOD\n");
    return 2;
  }
  const char *queue = argv[1], *service = argv[2], *method = argv[4];
  reply_name = argv[3];
  if (strlen(service) > 255 || strlen(reply_name) > 255 || strlen(method) > 255) {
    fprintf(stderr, "sec_client: names must be under 256 bytes\n");
    return 2;
  }

  struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = REPLY_SIZE};
  reply = mq_open(reply_name, O_CREAT | O_EXCL | O_RDONLY, 0622, &attr);
  if (reply == (mqd_t)-1) die("mq_open reply queue");
  /* The umask cut 0o622 down; others must be able to write (the server). */
  if (fchmod(reply, 0622) != 0) die("fchmod");
  requests = mq_open(queue, O_WRONLY);
  if (requests == (mqd_t)-1) die("mq_open request queue");

  uint8_t nonce[8];
  if (getrandom(nonce, sizeof nonce, 0) != sizeof nonce) die("getrandom");

  /* HELLO {protocol: 1, service, replyQueue, pid, nonce} */
  uint8_t hello[1024];
  size_t n = 0;
  hello[n++] = 0x85;
  n += mp_str(hello + n, "protocol");
  hello[n++] = 0x01;
  n += mp_str(hello + n, "service");
  n += mp_str(hello + n, service);
  n += mp_str(hello + n, "replyQueue");
  n += mp_str(hello + n, reply_name);
  n += mp_str(hello + n, "pid");
  n += mp_u32(hello + n, (uint32_t)getpid());
  n += mp_str(hello + n, "nonce");
  hello[n++] = 0xc4;
  hello[n++] = sizeof nonce;
  memcpy(hello + n, nonce, sizeof nonce);
  n += sizeof nonce;
  send_frame(HELLO, 0, 0, hello, n);

  /* CHALLENGE {nonce} carries the token; REJECT {nonce, code, message} refuses. */
  struct frame f;
  uint64_t token = 0;
  for (;;) {
    next_frame(&f);
    if (f.type != CHALLENGE && f.type != REJECT) continue;
    if (memmem(f.body, f.length, nonce, sizeof nonce) == NULL) continue; /* not for us */
    if (f.type == REJECT) {
      print_hex("reject", f.body, f.length);
      cleanup();
      return 0;
    }
    token = f.token;
    break;
  }
  send_frame(PROOF, token, 0, NULL, 0);
  do next_frame(&f);
  while (!(f.type == WELCOME && f.token == token));

  /* REQUEST [method, {}, nil] as call 1 */
  uint8_t request[300];
  n = 0;
  request[n++] = 0x93;
  n += mp_str(request + n, method);
  request[n++] = 0x80;
  request[n++] = 0xc0;
  send_frame(REQUEST, token, 1, request, n);
  do next_frame(&f);
  while (!((f.type == RESPONSE || f.type == ERROR) && f.call_id == 1 && f.token == token));
  print_hex(f.type == RESPONSE ? "response" : "error", f.body, f.length);

  send_frame(GOODBYE, token, 0, NULL, 0);
  cleanup();
  return 0;
}
