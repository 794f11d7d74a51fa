/* For counting instructions with valgrind 3.19, which does not know pidfd_open (syscall 434),
   so a pool breaks under it. Preloaded (LD_PRELOAD), it answers the library's
   syscall(SYS_pidfd_open) with an eventfd that a thread makes readable once the child has
   exited (waitid with WNOWAIT leaves the child for the pool to reap), and refuses
   pidfd_send_signal so that the pool falls back to kill(2). The pool's own children only:
   use StartMethod::kFork (FORKPOOL_COUNT_FORK=1 in count_work). Measuring only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct watched {
  pid_t pid;
  int fd;
};

static void* watch(void* arg) {
  struct watched w = *(struct watched*)arg;
  free(arg);
  siginfo_t info;
  while (waitid(P_PID, w.pid, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  uint64_t one = 1;
  if (write(w.fd, &one, sizeof one) < 0) return NULL;
  return NULL;
}

long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (int i = 0; i < 6; ++i) a[i] = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_pidfd_open) {
    const int fd = eventfd(0, EFD_CLOEXEC);
    struct watched* w = malloc(sizeof *w);
    w->pid = (pid_t)a[0];
    w->fd = fd;
    pthread_t thread;
    pthread_create(&thread, NULL, watch, w); /* the thread frees w */
    pthread_detach(thread);
    return fd;
  }
  if (number == SYS_pidfd_send_signal) {
    errno = ENOSYS;
    return -1;
  }
  static long (*real)(long, ...);
  if (real == NULL) real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
