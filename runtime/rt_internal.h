/* Shared between the runtime's bottom frame (bottom_frame.c) and its users
 * (gc.c now; fibers and exceptions later). */
#ifndef CWPKG_RT_INTERNAL_H
#define CWPKG_RT_INTERNAL_H

#include <stddef.h>

/* Work the bottom frame does while the stack is unwound, before it rewinds. */
typedef void (*rt_service)(void);

/* Unwinds the stack to the bottom frame, which runs `service` and then
 * rewinds; returns when the stack is back, as if from an ordinary call.
 * Call it only when cwpkg_rt_can_unwind() says so, from code that Asyncify
 * instruments (cwpkg's call-graph list includes every caller).  It calls
 * asyncify's start_unwind and stop_rewind itself, so Asyncify never
 * instruments it. */
void rt_unwind_to_bottom(rt_service service);

/* The frames the current unwind wrote, [*start, *end): roots while a
 * service runs.  Both are NULL outside a service. */
void rt_unwound_frames(char **start, char **end);

/* Nonzero while the bottom frame runs a service. */
int rt_in_service(void);

/* While nonzero, no unwind starts (cwpkg_rt_can_unwind() says no): code
 * that calls into a library the unwind must not cut through (bdwgc's
 * allocator) raises it around the call.  cwpkg's call-graph analysis relies
 * on this for every __wrap_NAME that calls NAME: see docs/wasm-runtime.md. */
extern unsigned rt_no_unwind;

/* Why cwpkg_rt_can_unwind() says no, for error messages; NULL if it can. */
const char *rt_unwind_refusal(void);

/* The largest unwind so far, in bytes. */
size_t rt_largest_unwind(void);

/* Prints "cwpkg_rt: " and the message to stderr, then exits with status 1
 * without running atexit handlers (the program's state may be damaged). */
_Noreturn void rt_fatal(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

#endif /* CWPKG_RT_INTERNAL_H */
