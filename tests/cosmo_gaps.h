/*
 * cosmo_gaps.h — the cases an APE cannot run under Cosmopolitan 2.2 on Windows (cosmo_gaps.c).
 */
#ifndef CONFORMANCE_COSMO_GAPS_H
#define CONFORMANCE_COSMO_GAPS_H
#if defined(__COSMOPOLITAN__)
/* Why case `name` is not run in this process (Cosmopolitan on Windows), or NULL if it must
 * pass. */
const char *cosmo_windows_gap(const char *name);
#endif
#endif
