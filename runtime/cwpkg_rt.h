/* cwpkg_rt: the wasm32-wasi runtime that lets a conservative collector see
 * every live pointer.
 *
 * WebAssembly keeps locals and call arguments in the engine, outside linear
 * memory, where bdwgc cannot scan them.  This runtime runs the program inside
 * a *bottom frame*; when a collection is due, it unwinds the call stack down
 * to that frame with Binaryen's Asyncify, which writes every frame's live
 * locals into linear memory, collects there (the unwound locals, the shadow
 * stack and static data are all roots), and rewinds the stack to where it
 * was.  See docs/wasm-runtime.md for the design.
 *
 * A C or Crystal program needs none of this header: linking with libgc and
 * libcwpkg_rt (cwpkg does it) wraps main and bdwgc's allocation and
 * collection functions, and Asyncify instruments the functions that can be
 * on the stack when an unwind starts.  The header is for code that wants to
 * run its own entry points inside a bottom frame or to read the statistics.
 */
#ifndef CWPKG_RT_H
#define CWPKG_RT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Runs entry(argument) inside a bottom frame and returns its result.  Called
 * again while a bottom frame is active (as libc's startup code does, through
 * both wrapped entry points), it just calls entry: the active frame serves. */
int cwpkg_rt_run(int (*entry)(void *), void *argument);

/* Nonzero when the running code could unwind to a bottom frame now: inside
 * one, not inside the runtime's own work there, and with enough free stack
 * below the stack pointer to hold the unwound frames. */
int cwpkg_rt_can_unwind(void);

/* Collects now if it can (see cwpkg_rt_can_unwind) and returns nonzero if
 * it did.  GC_gcollect() does this under the runtime. */
int cwpkg_rt_collect(void);

/* Prints an out-of-memory message for a request of `bytes` and exits with
 * status 1: on WebAssembly, address 0 is ordinary memory, so code that
 * carried on with a null result would silently overwrite data. */
_Noreturn void cwpkg_rt_out_of_memory(size_t bytes);

/* Fibers: stacks of execution switched through the bottom frame (fiber.c).
 * All of them run on the engine's one call stack; a suspended fiber is its
 * memory only, and a root of every collection while it lives. */
typedef struct cwpkg_rt_fiber cwpkg_rt_fiber;

/* A fiber that runs entry(argument) on [stack, stack + size) the first time
 * it is switched to; NULL if no memory is left for its state.  The stack
 * stays the caller's: the runtime neither allocates nor frees it.  entry
 * must never return: a fiber ends by switching to another with `finished`
 * set. */
cwpkg_rt_fiber *cwpkg_rt_fiber_create(void *stack, size_t size, void (*entry)(void *),
                                      void *argument);

/* The fiber running now, and the program's main one. */
cwpkg_rt_fiber *cwpkg_rt_fiber_current(void);
cwpkg_rt_fiber *cwpkg_rt_fiber_main(void);

/* Suspends the running fiber and continues `to` (inside a bottom frame, from
 * instrumented code, as a collection).  With `finished`, the running fiber
 * ends: its state is freed and it is never continued.  Returns when some
 * fiber switches back to this one. */
void cwpkg_rt_fiber_switch(cwpkg_rt_fiber *to, int finished);

/* The stack size for fibers the program was linked with (cwpkg link
 * --fiber-stack-size; 32 KiB by default). */
size_t cwpkg_rt_fiber_stack_size(void);

/* A descriptor to wait for, for cwpkg_rt_wait. */
struct cwpkg_rt_wait {
  int fd;
  int write; /* wait until writable, else readable */
  int ready; /* set by cwpkg_rt_wait */
};

/* Waits (poll_oneoff) until one of the descriptors is ready, or `timeout_ns`
 * nanoseconds have passed (negative: no limit).  Returns how many are ready,
 * or a negated WASI errno (EINVAL: nothing to wait for). */
int cwpkg_rt_wait(struct cwpkg_rt_wait *waits, size_t count, long long timeout_ns);

/* Exceptions, for code compiled with LLVM's Emscripten-style exception
 * lowering (see exceptions.c; cwpkg link does it for Crystal).  Raises
 * `exception`: the innermost catcher's landing pad gets it from
 * __cxa_find_matching_catch_2() and `selector` from getTempRet0().  It
 * returns with the wasm global cwpkg_rt_raising set, and the code after
 * each call that may raise returns at once while it is (the link puts the
 * checks there), up to the catcher. */
void cwpkg_rt_throw(void *exception, int selector);

/* Backtraces.  Before a raise, cwpkg_rt_trace_raise names where its path
 * goes: `trace`, `words` long, zeroed before the exception's first raise,
 * becomes [frame count, frame numbers...], the functions the raise returns
 * through, innermost first, up to the catcher, and then those of each raise
 * of the same exception again (as many as fit); if the link numbered the
 * functions (cwpkg link does with exceptions).  cwpkg_rt_frame_name gives a
 * number's function name from the link's table (the name section's, made
 * shorter for Crystal's methods), or NULL. */
void cwpkg_rt_trace_raise(void **trace, unsigned words);
const char *cwpkg_rt_frame_name(unsigned frame);

/* The stack pointer (wasm-ld's __stack_pointer global: the C stack grows
 * down from it). */
static inline char *cwpkg_rt_stack_pointer(void) {
  char *sp;
  __asm__ volatile(".globaltype __stack_pointer, i32\n\t"
                   "global.get __stack_pointer\n\t"
                   "local.set %0"
                   : "=r"(sp));
  return sp;
}

/* Used by the generated invoke_SIG catchers: enter is given the stack
 * pointer and the raise paths (cwpkg_rt_raise_paths) the invoke found and
 * returns the catcher's depth, leave is given the depth back after the call
 * and says whether the call raised (then the stack pointer and the raise
 * paths are back as they were and __THREW__ is set). */
unsigned cwpkg_rt_raise_paths(void);
unsigned cwpkg_rt_catch_enter(char *stack_pointer, unsigned raise_paths);
int cwpkg_rt_catch_leave(unsigned depth);

/* How many catchers are on the running stack. */
unsigned cwpkg_rt_catch_depth(void);

struct cwpkg_rt_stats {
  unsigned long collections;      /* collections run at a bottom frame       */
  unsigned long deferred;         /* due collections postponed: no unwind    */
                                  /* possible where they fell due            */
  size_t largest_unwind;          /* most bytes one unwind wrote             */
  size_t linear_memory;           /* current size of linear memory (bytes)   */
  size_t heap_size;               /* bdwgc's heap (bytes)                    */
};

void cwpkg_rt_get_stats(struct cwpkg_rt_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* CWPKG_RT_H */
