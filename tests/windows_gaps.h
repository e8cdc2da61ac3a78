/*
 * windows_gaps.h — the cases that cannot apply on Windows, with the reason (Windows build of
 * the suite only). The runner lists them as `skip` with the reason; they are never run there
 * and never counted as passed.
 */
#ifndef CONFORMANCE_WINDOWS_GAPS_H
#define CONFORMANCE_WINDOWS_GAPS_H

/* A case of a test file that mk/windows.mk does not build (generated list). */
struct windows_off_case {
    const char *name;
    const char *file;
};
extern const struct windows_off_case windows_off_cases[];

/* Why case `name` (of a built file) is not run on Windows, or NULL if it must pass;
 * *engine_limit tells something that does not exist on Windows (0) from a documented
 * difference of the win engine (1) and from one of Wine's, reported only under Wine (2). */
const char *windows_gap(const char *name, int *engine_limit);
/* Why test file `file` is not built on Windows. */
const char *windows_file_gap(const char *file);

#endif
