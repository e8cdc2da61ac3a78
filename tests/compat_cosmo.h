/*
 * compat_cosmo.h — what the suite calls that Cosmopolitan 2.2 gets wrong on Linux. Included by
 * runner.h in a Cosmopolitan build (an APE, `make ape`) only.
 *
 * Its sigqueue() makes the rt_sigqueueinfo system call with two arguments of three (the signal
 * number is left out), so on Linux every call fails with EFAULT and a signalfd case that queues
 * a signal never gets to anypoll. Here the call is made as Linux defines it, with the record
 * Cosmopolitan's sigqueue() builds (its siginfo_t has Linux's layout); on other hosts it is
 * Cosmopolitan's own.
 */
#ifndef COMPAT_COSMO_H
#define COMPAT_COSMO_H
#if defined(__COSMOPOLITAN__) && defined(__x86_64__)
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static inline int compat_sigqueue(pid_t pid, int sig, union sigval v)
{
    if (!IsLinux()) return sigqueue(pid, sig, v);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = sig;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value = v;
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(129L /* x86_64 rt_sigqueueinfo */), "D"((long)pid), "S"((long)sig),
                       "d"(&info)
                     : "rcx", "r11", "memory");
    if (r < 0 && r > -4096) {
        errno = (int)-r; /* Cosmopolitan's errno values are Linux's on Linux */
        return -1;
    }
    return 0;
}
#define sigqueue(pid, sig, v) compat_sigqueue((pid), (sig), (v))
#endif
#endif
