/* Shared between the runtime's bottom frame (bottom_frame.c) and its users
 * (gc.c, fiber.c, exceptions.c). */
#ifndef CWPKG_RT_INTERNAL_H
#define CWPKG_RT_INTERNAL_H

#include <stddef.h>

#include "cwpkg_rt.h"

/* The layout Binaryen's Asyncify reads and writes (Asyncify.cpp). */
struct asyncify_data {
  char *position; /* next byte to write (unwind) or end of the data (rewind) */
  char *end;      /* writing past it is an overflow */
};

enum fiber_state {
  FIBER_NEW,       /* created, its entry not called yet: its stack holds nothing */
  FIBER_RUNNING,   /* the current fiber (while a service runs: the one that unwound) */
  FIBER_SUSPENDED, /* unwound into its buffer, waiting to be rewound */
};

/* A stack of execution: the program's main one, or a fiber's.  Its
 * unwound frames go to the free part of its own stack, [stack_low,
 * data.position); the frames' shadow-stack data stays in place, in
 * [saved_sp, stack_high). */
struct cwpkg_rt_fiber {
  struct asyncify_data data;
  char *stack_low, *stack_high;
  char *saved_sp; /* the stack pointer when it last unwound */
  void (*entry)(void *);
  void *argument;
  enum fiber_state state;
  unsigned raise_paths; /* raise paths entered and not caught (cwpkg_rt_raise_path) */
  struct cwpkg_rt_fiber *previous, *next; /* every fiber but main, for the roots */
};

/* Implemented by Binaryen's Asyncify pass (wasm-opt --asyncify).  A
 * function that calls start_unwind (or stop_rewind) is an unwinder, one
 * that calls stop_unwind (or start_rewind) receives unwinds: cwpkg's
 * call-graph analysis finds both by these calls. */
#define ASYNCIFY_IMPORT(name) __attribute__((import_module("asyncify"), import_name(name)))
ASYNCIFY_IMPORT("start_unwind") void asyncify_start_unwind(void *data);
ASYNCIFY_IMPORT("stop_unwind") void asyncify_stop_unwind(void);
ASYNCIFY_IMPORT("start_rewind") void asyncify_start_rewind(void *data);
ASYNCIFY_IMPORT("stop_rewind") void asyncify_stop_rewind(void);

/* Kept free between an unwind's buffer and the stack pointer. */
#define UNWIND_MARGIN 64

/* Moves the stack pointer: to another stack, between an unwind and the
 * following rewind, when no frame that uses the stack is active; or back
 * to where a catcher found it, after a raise's early returns skipped the
 * epilogues of the frames in between. */
static inline void rt_set_stack_pointer(char *sp) {
  __asm__ volatile(".globaltype __stack_pointer, i32\n\t"
                   "local.get %0\n\t"
                   "global.set __stack_pointer"
                   :
                   : "r"(sp));
}

/* The program's main stack, and the fiber running now: after a service,
 * the bottom frame continues with rt_current_fiber, which a switch service
 * changes. */
extern struct cwpkg_rt_fiber rt_main_fiber;
extern struct cwpkg_rt_fiber *rt_current_fiber;

/* A range of linear memory that holds unwound frames. */
typedef void (*rt_range_visitor)(char *low, char *high);

/* Calls visit(low, high) for every range of linear memory that holds a
 * live fiber's frames while it is unwound: its buffer and its shadow
 * stack.  Only while a service runs (every fiber is unwound then). */
void rt_each_unwound_range(rt_range_visitor visit);

/* The ranges of one fiber (none unless it is suspended). */
void rt_visit_fiber(struct cwpkg_rt_fiber *fiber, rt_range_visitor visit);

/* Defined by fiber.c, which a program links only if it creates fibers
 * (weak references pull no archive member): without it, the main fiber is
 * the only one, and the bottom frame calls no fiber entry, so Asyncify
 * instruments nothing for a fiber's sake. */
void rt_each_other_fiber(rt_range_visitor visit) __attribute__((weak));
void rt_enter_fiber(struct cwpkg_rt_fiber *fiber) __attribute__((weak));

/* The top of the stack the bottom frame's services run on. */
char *rt_service_stack_high(void);

/* Work the bottom frame does while the stack is unwound, before it rewinds. */
typedef void (*rt_service)(void);

/* Unwinds the stack to the bottom frame, which runs `service` and then
 * rewinds; returns when the stack is back, as if from an ordinary call.
 * Call it only when cwpkg_rt_can_unwind() says so, from code that Asyncify
 * instruments (cwpkg's call-graph list includes every caller).  It calls
 * asyncify's start_unwind and stop_rewind itself, so Asyncify never
 * instruments it. */
void rt_unwind_to_bottom(rt_service service);

/* While finalizers run (gc.c), and how many catchers were on the stack
 * when they started: an exception that a finalizer lets escape would leave
 * them running for good, so exceptions.c refuses it. */
extern int rt_finalizers_running;
extern unsigned rt_finalizers_catch_depth;

/* Nonzero while the bottom frame runs a service. */
int rt_in_service(void);

/* While nonzero, no unwind starts (cwpkg_rt_can_unwind() says no): code
 * that calls into a library the unwind must not cut through (bdwgc's
 * allocator) raises it around the call.  cwpkg's call-graph analysis relies
 * on this for every __wrap_NAME that calls NAME: see docs/wasm-runtime.md. */
extern unsigned rt_no_unwind;

/* Ends the program with a message if the stack pointer is below the
 * running stack (WebAssembly has no guard page: the frames there overwrite
 * other memory).  Cheap: the allocation wrappers call it every time. */
void rt_check_stack(void);

/* Why cwpkg_rt_can_unwind() says no, for error messages; NULL if it can. */
const char *rt_unwind_refusal(void);

/* Why an exception cannot be raised here (it would return early through
 * the runtime's or the collector's code), for error messages; NULL if it
 * can.  The stack's room does not matter to a raise. */
const char *rt_raise_refusal(void);

/* Whether the running fiber is on a raise's path (cwpkg_rt_raise_path):
 * no collection starts there. */
static inline int rt_on_raise_path(void) { return rt_current_fiber->raise_paths != 0; }

/* The largest unwind so far, in bytes. */
size_t rt_largest_unwind(void);

/* Prints "cwpkg_rt: " and the message to stderr, then exits with status 1
 * without running atexit handlers (the program's state may be damaged). */
_Noreturn void rt_fatal(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

#endif /* CWPKG_RT_INTERNAL_H */
