/*
 * mq_probe QUEUE
 * Tries to open QUEUE for writing, then for reading, and prints one line
 * for each: "write ok" / "write EACCES", "read ok" / "read EACCES".
 * A successful write open also sends the 5-byte message "probe", so the
 * caller can see that the write really went through.
 * Run under another uid by the permission tests.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>

#include "errname.h"

static int probe(const char *name, int flags, const char *what) {
  mqd_t q = mq_open(name, flags | O_NONBLOCK);
  if (q == (mqd_t)-1) {
    printf("%s %s\n", what, errname(errno));
    return 0;
  }
  int failed = 0;
  if ((flags & O_ACCMODE) == O_WRONLY && mq_send(q, "probe", strlen("probe"), 0) != 0) {
    printf("%s send-%s\n", what, errname(errno));
    failed = 1;
  }
  if (mq_close(q) != 0) {
    printf("%s close-%s\n", what, errname(errno));
    return 1;
  }
  if (!failed) printf("%s ok\n", what);
  return failed;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: mq_probe QUEUE\n");
    return 2;
  }
  int failed = probe(argv[1], O_WRONLY, "write");
  failed |= probe(argv[1], O_RDONLY, "read");
  return failed;
}
