/*
 * raw_syscall_linux.h — one Linux system call by its number, as a single instruction, for the two
 * places that must not go through libc's names (the drop-in exports them): the native engine
 * (engines/native_linux.c) and the Linux host layer (host/sys_linux.c). Shared by those two only.
 *
 * AP_HAVE_RAW_SYSCALL is 1 on x86_64 and aarch64, where ap_raw_syscall() returns the kernel's
 * raw result (-errno on failure) and never touches errno. Elsewhere it is 0 and the includer
 * chooses its own path. Linux's calling convention is fixed by its ABI, so this also serves a
 * Cosmopolitan binary running on Linux.
 */
#ifndef ANYPOLL_RAW_SYSCALL_H
#define ANYPOLL_RAW_SYSCALL_H

#if defined(__x86_64__) || defined(__aarch64__)
#define AP_HAVE_RAW_SYSCALL 1

static inline long ap_raw_syscall(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#else
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory", "cc");
    return x0;
#endif
}

/* The same with three arguments: on x86_64 no registers to clear for the unused ones. */
static inline long ap_raw_syscall3(long n, long a, long b, long c)
{
#if defined(__x86_64__)
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
#else
    return ap_raw_syscall(n, a, b, c, 0, 0, 0);
#endif
}
#else
#define AP_HAVE_RAW_SYSCALL 0
#endif

#endif
