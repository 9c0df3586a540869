/*
 * struct_send QUEUE COUNT [PRIORITY]
 * Opens an existing queue for writing (blocking: a full queue makes
 * mq_send wait, as in the classic sample) and sends COUNT records
 * {seq = i, value = i * 7 - 100, text = "record-<i>"}. Prints "sent COUNT".
 */
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errname.h"
#include "record.h"

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: struct_send QUEUE COUNT [PRIORITY]\n");
    return 2;
  }
  const char *name = argv[1];
  long count = strtol(argv[2], NULL, 10);
  unsigned priority = argc == 4 ? (unsigned)strtoul(argv[3], NULL, 10) : 0;

  mqd_t q = mq_open(name, O_WRONLY);
  if (q == (mqd_t)-1) {
    printf("open %s\n", errname(errno));
    return 1;
  }
  for (long i = 0; i < count; i++) {
    struct record r;
    memset(&r, 0, sizeof r);
    r.seq = (uint32_t)i;
    r.value = (int32_t)(i * 7 - 100);
    snprintf(r.text, sizeof r.text, "record-%u", r.seq);
    while (mq_send(q, (const char *)&r, sizeof r, priority) != 0) {
      if (errno == EINTR) continue;
      printf("send %s\n", errname(errno));
      mq_close(q);
      return 1;
    }
  }
  if (mq_close(q) != 0) {
    printf("close %s\n", errname(errno));
    return 1;
  }
  printf("sent %ld\n", count);
  return 0;
}
