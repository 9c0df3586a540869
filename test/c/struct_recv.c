/*
 * struct_recv QUEUE COUNT
 * Opens an existing queue for reading and receives COUNT records, each into
 * a buffer of the queue's mq_msgsize (mq_getattr first: a smaller buffer
 * makes mq_receive fail with EMSGSIZE). Prints one line per record:
 *   seq=<u32> value=<i32> prio=<u32> text=<text>
 * and "bad-size <n>" for a message that is not exactly one record.
 * Gives up with "receive ETIMEDOUT" after 10 s without a message.
 */
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errname.h"
#include "record.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: struct_recv QUEUE COUNT\n");
    return 2;
  }
  const char *name = argv[1];
  long count = strtol(argv[2], NULL, 10);

  mqd_t q = mq_open(name, O_RDONLY);
  if (q == (mqd_t)-1) {
    printf("open %s\n", errname(errno));
    return 1;
  }
  struct mq_attr attr;
  if (mq_getattr(q, &attr) != 0) {
    printf("getattr %s\n", errname(errno));
    mq_close(q);
    return 1;
  }
  char *buffer = malloc((size_t)attr.mq_msgsize);
  if (buffer == NULL) {
    printf("malloc failed\n");
    mq_close(q);
    return 1;
  }
  int status = 0;
  for (long i = 0; i < count; i++) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    unsigned priority = 0;
    ssize_t n = mq_timedreceive(q, buffer, (size_t)attr.mq_msgsize, &priority, &deadline);
    if (n < 0) {
      if (errno == EINTR) {
        i--;
        continue;
      }
      printf("receive %s\n", errname(errno));
      status = 1;
      break;
    }
    if ((size_t)n != sizeof(struct record)) {
      printf("bad-size %zd\n", n);
      status = 1;
      continue;
    }
    struct record r;
    memcpy(&r, buffer, sizeof r);
    r.text[sizeof r.text - 1] = '\0';
    printf("seq=%u value=%d prio=%u text=%s\n", r.seq, r.value, priority, r.text);
  }
  fflush(stdout);
  free(buffer);
  if (mq_close(q) != 0) {
    printf("close %s\n", errname(errno));
    return 1;
  }
  return status;
}
