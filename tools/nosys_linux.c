/*
 * nosys_linux.c — "a host without epoll" on Linux: a seccomp-BPF filter that makes the kernel
 * refuse epoll, eventfd, timerfd and signalfd system calls with ENOSYS, inherited across exec.
 *
 * The filter checks the audit architecture first, because system call numbers mean different
 * things per ABI: on x86_64 it covers the 64-bit ABI, x32 (the same numbers with bit 30 set)
 * and i386; on aarch64 it covers arm64 and 32-bit ARM (EABI). A call from any other ABI kills
 * the process rather than slipping through unfiltered. Only Linux headers here; elsewhere (and
 * in a Cosmopolitan APE, whose headers are not Linux's) the functions say "not supported".
 */
#include "tool.h"

#include <errno.h>

#if defined(__linux__) && !defined(__COSMOPOLITAN__) && (defined(__x86_64__) || defined(__aarch64__))
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS SECCOMP_RET_KILL
#endif
#define X32_SYSCALL_BIT 0x40000000u

struct abi {
    uint32_t arch;
    uint32_t nr_mask;             /* applied to nr before comparing */
    const uint32_t *epoll, *efd;  /* numbers, 0-terminated (0 is never one of these calls) */
    const uint32_t *tfd, *sfd;
};

#if defined(__x86_64__)
/* x86_64 (and x32 once bit 30 is masked off), from asm/unistd_64.h: epoll_ctl_old and
 * epoll_wait_old are long dead but are epoll all the same. */
static const uint32_t x64_epoll[] = {__NR_epoll_create, __NR_epoll_create1, __NR_epoll_ctl,
                                     __NR_epoll_wait,   __NR_epoll_pwait,   441 /* pwait2 */,
                                     214 /* epoll_ctl_old */, 215 /* epoll_wait_old */, 0};
static const uint32_t x64_efd[] = {__NR_eventfd, __NR_eventfd2, 0};
static const uint32_t x64_tfd[] = {__NR_timerfd_create, __NR_timerfd_settime, __NR_timerfd_gettime, 0};
static const uint32_t x64_sfd[] = {__NR_signalfd, __NR_signalfd4, 0};
/* i386, from asm/unistd_32.h (its names clash with the 64-bit ones, hence numbers). */
static const uint32_t i386_epoll[] = {254 /* epoll_create */, 329 /* epoll_create1 */,
                                      255 /* epoll_ctl */,    256 /* epoll_wait */,
                                      319 /* epoll_pwait */,  441 /* epoll_pwait2 */, 0};
static const uint32_t i386_efd[] = {323 /* eventfd */, 328 /* eventfd2 */, 0};
static const uint32_t i386_tfd[] = {322 /* timerfd_create */, 325 /* timerfd_settime */,
                                    326 /* timerfd_gettime */, 411 /* timerfd_settime64 */,
                                    410 /* timerfd_gettime64 */, 0};
static const uint32_t i386_sfd[] = {321 /* signalfd */, 327 /* signalfd4 */, 0};
static const struct abi abis[] = {
    {AUDIT_ARCH_X86_64, ~X32_SYSCALL_BIT, x64_epoll, x64_efd, x64_tfd, x64_sfd},
    {AUDIT_ARCH_I386, ~0u, i386_epoll, i386_efd, i386_tfd, i386_sfd},
};
#else
/* arm64 has only these (asm-generic/unistd.h). */
static const uint32_t a64_epoll[] = {__NR_epoll_create1, __NR_epoll_ctl, __NR_epoll_pwait,
                                     441 /* epoll_pwait2 */, 0};
static const uint32_t a64_efd[] = {__NR_eventfd2, 0};
static const uint32_t a64_tfd[] = {__NR_timerfd_create, __NR_timerfd_settime, __NR_timerfd_gettime, 0};
static const uint32_t a64_sfd[] = {__NR_signalfd4, 0};
/* 32-bit ARM EABI, from arm-linux-gnueabihf asm/unistd-eabi.h. */
static const uint32_t arm_epoll[] = {250 /* epoll_create */, 357 /* epoll_create1 */,
                                     251 /* epoll_ctl */,    252 /* epoll_wait */,
                                     346 /* epoll_pwait */,  441 /* epoll_pwait2 */, 0};
static const uint32_t arm_efd[] = {351 /* eventfd */, 356 /* eventfd2 */, 0};
static const uint32_t arm_tfd[] = {350 /* timerfd_create */, 353 /* timerfd_settime */,
                                   354 /* timerfd_gettime */, 411 /* timerfd_settime64 */,
                                   410 /* timerfd_gettime64 */, 0};
static const uint32_t arm_sfd[] = {349 /* signalfd */, 355 /* signalfd4 */, 0};
static const struct abi abis[] = {
    {AUDIT_ARCH_AARCH64, ~0u, a64_epoll, a64_efd, a64_tfd, a64_sfd},
    {AUDIT_ARCH_ARM, ~0u, arm_epoll, arm_efd, arm_tfd, arm_sfd},
};
#endif

int ap_nosys_supported(void) { return 1; }

static int keep_tfd, keep_sfd;
void ap_nosys_keep_timers(int keep_timerfd, int keep_signalfd)
{
    keep_tfd = keep_timerfd;
    keep_sfd = keep_signalfd;
}

int ap_nosys_install(int keep_epoll, int keep_eventfd)
{
    struct sock_filter f[64];
    unsigned n = 0;
#define EMIT(insn) (f[n++] = (struct sock_filter)insn)

    /* A = arch; each ABI's section is entered on a match and always returns, else skipped
     * (A still holds the arch when the next section tests it). */
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
    for (unsigned a = 0; a < sizeof abis / sizeof abis[0]; a++) {
        uint32_t deny[32];
        unsigned m = 0;
        for (const uint32_t *p = abis[a].epoll; !keep_epoll && *p; p++) deny[m++] = *p;
        for (const uint32_t *p = abis[a].efd; !keep_eventfd && *p; p++) deny[m++] = *p;
        for (const uint32_t *p = abis[a].tfd; !keep_tfd && *p; p++) deny[m++] = *p;
        for (const uint32_t *p = abis[a].sfd; !keep_sfd && *p; p++) deny[m++] = *p;
        unsigned len = 1 + (abis[a].nr_mask != ~0u) + m + 2;
        EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, abis[a].arch, 0, len));
        EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
        if (abis[a].nr_mask != ~0u) EMIT(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, abis[a].nr_mask));
        for (unsigned i = 0; i < m; i++) /* match: skip the rest of the list and the ALLOW */
            EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, deny[i], m - i, 0));
        EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
        EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
    }
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#undef EMIT

    struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0 ? -1 : 0;
}

#else /* not Linux on x86_64/aarch64 */

int ap_nosys_supported(void) { return 0; }

void ap_nosys_keep_timers(int keep_timerfd, int keep_signalfd) { (void)keep_timerfd, (void)keep_signalfd; }

int ap_nosys_install(int keep_epoll, int keep_eventfd)
{
    (void)keep_epoll, (void)keep_eventfd;
    errno = ENOSYS;
    return -1;
}

#endif
