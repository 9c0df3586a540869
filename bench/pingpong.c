/*
 * pingpong ROUNDS SIZE
 * The C baseline of bench/pingpong.ts: creates two queues, forks an echo
 * child, and bounces a SIZE-byte message ROUNDS times (ping -> echo ->
 * pong), timing each round trip with CLOCK_MONOTONIC. Blocking mq_send /
 * mq_receive, as plain C would. The names are unlinked as soon as both
 * queues are open (the child inherits the descriptors), so nothing is left
 * behind even if it is killed. Prints one line of JSON:
 *   {"rounds":N,"seconds":S,"median_us":M,"p99_us":P}
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char ping_name[64];
static char pong_name[64];
static pid_t child = -1;

static void die(const char *what) {
  perror(what);
  mq_unlink(ping_name);
  mq_unlink(pong_name);
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
  }
  exit(1);
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void echo(mqd_t in, mqd_t out, long rounds, long msgsize) {
  char *buffer = malloc((size_t)msgsize);
  if (buffer == NULL) _exit(1);
  for (long i = 0; i < rounds; i++) {
    unsigned prio;
    ssize_t n = mq_receive(in, buffer, (size_t)msgsize, &prio);
    if (n < 0) {
      if (errno == EINTR) { i--; continue; }
      perror("echo mq_receive");
      _exit(1);
    }
    while (mq_send(out, buffer, (size_t)n, prio) != 0) {
      if (errno != EINTR) {
        perror("echo mq_send");
        _exit(1);
      }
    }
  }
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: pingpong ROUNDS SIZE\n");
    return 2;
  }
  long rounds = strtol(argv[1], NULL, 10);
  long size = strtol(argv[2], NULL, 10);
  if (rounds < 1 || size < 1 || size > 8192) {
    fprintf(stderr, "ROUNDS >= 1, 1 <= SIZE <= 8192\n");
    return 2;
  }
  snprintf(ping_name, sizeof ping_name, "/mqbench-c-%d-ping", (int)getpid());
  snprintf(pong_name, sizeof pong_name, "/mqbench-c-%d-pong", (int)getpid());
  struct mq_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.mq_maxmsg = 10;
  attr.mq_msgsize = size;
  mqd_t ping = mq_open(ping_name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
  if (ping == (mqd_t)-1) die("mq_open ping");
  mqd_t pong = mq_open(pong_name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
  if (pong == (mqd_t)-1) die("mq_open pong");
  if (mq_unlink(ping_name) != 0 || mq_unlink(pong_name) != 0) die("mq_unlink");

  child = fork();
  if (child < 0) die("fork");
  if (child == 0) echo(ping, pong, rounds, size);

  double *samples = malloc(sizeof(double) * (size_t)rounds);
  char *message = calloc(1, (size_t)size);
  char *reply = malloc((size_t)size);
  if (samples == NULL || message == NULL || reply == NULL) die("malloc");
  double start = now_us();
  for (long i = 0; i < rounds; i++) {
    double t0 = now_us();
    memcpy(message, &i, sizeof i < (size_t)size ? sizeof i : (size_t)size);
    while (mq_send(ping, message, (size_t)size, 0) != 0) {
      if (errno != EINTR) die("mq_send");
    }
    unsigned prio;
    ssize_t n;
    while ((n = mq_receive(pong, reply, (size_t)size, &prio)) < 0) {
      if (errno != EINTR) die("mq_receive");
    }
    if (n != size || memcmp(message, reply, (size_t)size) != 0) {
      fprintf(stderr, "echo mismatch at round %ld\n", i);
      kill(child, SIGKILL);
      waitpid(child, NULL, 0);
      return 1;
    }
    samples[i] = now_us() - t0;
  }
  double seconds = (now_us() - start) / 1e6;
  int status = 0;
  if (waitpid(child, &status, 0) < 0) die("waitpid");
  child = -1;
  mq_close(ping);
  mq_close(pong);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "echo child failed\n");
    return 1;
  }
  qsort(samples, (size_t)rounds, sizeof(double), by_value);
  double median = samples[rounds / 2];
  double p99 = samples[(long)((double)(rounds - 1) * 0.99)];
  printf("{\"rounds\":%ld,\"seconds\":%.6f,\"median_us\":%.3f,\"p99_us\":%.3f}\n", rounds, seconds, median, p99);
  free(samples);
  free(message);
  free(reply);
  return 0;
}
