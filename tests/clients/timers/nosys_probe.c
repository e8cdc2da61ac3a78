/*
 * nosys_probe.c — what the kernel answers to timerfd_create and signalfd here (glibc's calls,
 * no anypoll): prints "timerfd: ok|ENOSYS|..." and "signalfd: ..." and exits 0 when both match
 * argv[1] and argv[2] ("ok" or "ENOSYS"). Used to check that `anypoll nosys` refuses them by
 * default and lets them through with --keep-timerfd / --keep-signalfd.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static const char *answer(int fd)
{
    if (fd >= 0) {
        close(fd);
        return "ok";
    }
    return errno == ENOSYS ? "ENOSYS" : strerror(errno);
}

/* A call on a bad fd: EBADF means the kernel has the call. */
static const char *answer_badf(int rc)
{
    if (rc == 0) return "accepted fd -1";
    return errno == EBADF ? "ok" : errno == ENOSYS ? "ENOSYS" : strerror(errno);
}

int main(int argc, char **argv)
{
    sigset_t m;
    sigemptyset(&m);
    const char *t = answer(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
    struct itimerspec its;
    const char *ts = answer_badf(timerfd_gettime(-1, &its));
    const char *s = answer(signalfd(-1, &m, SFD_CLOEXEC));
    printf("timerfd: %s (timerfd_gettime: %s)\nsignalfd: %s\n", t, ts, s);
    if (argc < 3) return 2;
    return strcmp(t, argv[1]) == 0 && strcmp(ts, argv[1]) == 0 && strcmp(s, argv[2]) == 0 ? 0 : 1;
}
