/*
 * syscall-cost [N]
 * What a system call costs on this machine, the floor under every figure
 * of the queue benchmarks: a Node wake-up makes about four of them (two
 * epoll_pwait, as libuv measures the loop's idle time, a read and a send)
 * where the C ping-pong makes two. Times N (default 1,000,000) of each, on
 * one queue of its own (unlinked at once, so nothing is left behind):
 *   - mq_receive on an empty non-blocking queue (the read that finds it empty)
 *   - epoll_wait with a timeout of 0 that finds nothing
 *   - mq_send then mq_receive of a 64-byte message (no other process woken)
 * Prints one line of JSON: {"failing_receive_us","epoll_wait_us","send_receive_us"}.
 *   cc -O2 -o /tmp/syscall-cost bench/syscall-cost.c && taskset -c 0 /tmp/syscall-cost
 */
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  char name[64];
  snprintf(name, sizeof name, "/mqbench-syscall-%d", (int)getpid());
  struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = 64};
  mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK, 0600, &attr);
  if (q == (mqd_t)-1) {
    perror("mq_open");
    return 1;
  }
  mq_unlink(name);
  char buf[64] = {0};

  double t0 = now_us();
  for (long i = 0; i < n; i++) mq_receive(q, buf, sizeof buf, NULL);
  double failing = (now_us() - t0) / n;

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data = {.u32 = 0}};
  struct epoll_event out[4];
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, q, &ev) != 0) {
    perror("epoll");
    return 1;
  }
  t0 = now_us();
  for (long i = 0; i < n; i++) epoll_wait(ep, out, 4, 0);
  double epoll = (now_us() - t0) / n;

  t0 = now_us();
  for (long i = 0; i < n; i++) {
    if (mq_send(q, buf, sizeof buf, 0) != 0 || mq_receive(q, buf, sizeof buf, NULL) < 0) {
      perror("mq_send/mq_receive");
      return 1;
    }
  }
  double pair = (now_us() - t0) / n;

  printf("{\"failing_receive_us\":%.3f,\"epoll_wait_us\":%.3f,\"send_receive_us\":%.3f}\n", failing, epoll, pair);
  return 0;
}
