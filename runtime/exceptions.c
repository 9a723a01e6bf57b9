/* Exceptions: a raise returns, frame after frame, to the innermost catcher.
 *
 * A program compiled with LLVM's Emscripten-style exception lowering
 * (`-mllvm -enable-emscripten-cxx-exceptions`, which cwpkg link applies to
 * Crystal's LLVM IR) turns every `invoke` into a call of `invoke_SIG(fn,
 * args...)` followed by a test of `__THREW__`, and every landing pad into
 * calls of `__cxa_find_matching_catch_2()` (the exception) and
 * `getTempRet0()` (its selector: for Crystal, the exception's type id).
 * The link generates each invoke_SIG (cwpkg/link/exceptions.py):
 *
 *   invoke_SIG(fn, args)        may be instrumented by Asyncify; reads the
 *     -> catch_through_SIG       stack pointer and calls, through a function
 *          -> fn(args)           pointer (so that Asyncify checks for an
 *                                unwind after the call), this catcher, which
 *                                Asyncify leaves alone.
 *
 * invoke_SIG reads the stack pointer and how many raise paths the fiber is
 * on (cwpkg_rt_raise_paths); the catcher marks its depth and records both
 * (cwpkg_rt_catch_enter), calls fn, and asks cwpkg_rt_catch_leave what
 * happened.  A raise (cwpkg_rt_throw) records the exception, sets the wasm
 * global cwpkg_rt_raising and returns.  The link put `if
 * (cwpkg_rt_raising) return` after every call that may raise, in every
 * function a raise can pass (cwpkg/link/raise_returns.py): each frame
 * returns at once, up to fn, which returns into the innermost catcher.  Its
 * cwpkg_rt_catch_leave clears the global, puts the stack pointer back where
 * invoke_SIG found it (the frames in between ran no epilogue) and the
 * fiber's raise paths as they were (the raise's own path forbade
 * collections: cwpkg_rt_raise_path), sets __THREW__ and returns; the
 * landing pad runs.
 *
 * Collections and fiber switches still unwind through Asyncify.  Such an
 * unwind passes through a catcher: it returns, invoke_SIG saves itself, and
 * on the rewind it calls the catcher again, which marks its depth again and
 * calls fn, which rewinds.  So the depth always counts the catchers on the
 * running stack.  Both values come from invoke_SIG, whose locals the
 * rewind restores: the catcher itself, running again, would see the deepest
 * stack pointer of the unwind, and the raise paths of the moment of the
 * switch (an `ensure` on a raise's path may switch fibers).
 *
 * Backtraces: the link numbers the functions a raise can return through,
 * and each early return calls cwpkg_rt_trace_frame with its function's
 * number first (cwpkg/link/backtraces.py); the link also adds the names,
 * a table this file declares weak (a program linked without them has
 * none: every name is unknown).  The frames go into the buffer the raise
 * named (cwpkg_rt_trace_raise), which the exception keeps: the path from
 * its raise to the catcher, continued by the paths of its raises again
 * (an ensure's, a rescue's that raises it on), is its backtrace.
 *
 * A finalizer that lets an exception escape would leave the collector's
 * finalizer state behind: that ends the program with a message, as does a
 * raise inside the runtime's or the collector's own code.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cwpkg_rt.h"
#include "rt_internal.h"

/* Set to 1 when a landing pad is to run; the lowered code clears it. */
int __THREW__;
static int temp_ret0;

/* A wasm global, not memory: the link's checks read it after every call
 * that may raise (cwpkg/link/raise_returns.py finds it by name). */
__asm__(".globaltype cwpkg_rt_raising, i32\n"
        ".globl cwpkg_rt_raising\n"
        "cwpkg_rt_raising:\n");

static inline void set_raising(int raising) {
  __asm__ volatile(".globaltype cwpkg_rt_raising, i32\n\t"
                   "local.get %0\n\t"
                   "global.set cwpkg_rt_raising"
                   :
                   : "r"(raising));
}

static inline int raising(void) {
  int value;
  __asm__ volatile(".globaltype cwpkg_rt_raising, i32\n\t"
                   "global.get cwpkg_rt_raising\n\t"
                   "local.set %0"
                   : "=r"(value));
  return value;
}

struct catcher {
  char *stack_pointer;  /* where invoke_SIG found it */
  unsigned raise_paths; /* the fiber's raise paths when invoke_SIG was called */
};

static struct {
  struct catcher *catchers; /* for each depth */
  unsigned depth, capacity;
  void *exception;          /* the one being raised or handled */
  int selector;
} catching;

/* The trace the running raise writes to (cwpkg_rt_trace_raise), or none. */
static struct {
  void **words;
  unsigned capacity; /* frames it holds */
} tracing;

enum { TRACE_COUNT, TRACE_FIRST_FRAME }; /* a trace's words */

/* The link's table of the numbered functions' names (cwpkg/link/backtraces.py). */
extern const unsigned cwpkg_rt_frame_count __attribute__((weak));
extern const unsigned cwpkg_rt_frame_name_offsets[] __attribute__((weak));
extern const char cwpkg_rt_frame_name_text[] __attribute__((weak));

int getTempRet0(void) { return temp_ret0; }

/* Crystal's landing pads are cleanups, which the lowering turns into this
 * call: the exception, and its type id as the selector.  (Catch clauses of
 * other languages would call __cxa_find_matching_catch_N with N > 2, which
 * the runtime does not offer: such a program does not link.)  The runtime
 * lets go of the exception here: the landing pad holds it now. */
void *__cxa_find_matching_catch_2(void) {
  void *exception = catching.exception;

  temp_ret0 = catching.selector;
  catching.exception = NULL;
  return exception;
}

void cwpkg_rt_throw(void *exception, int selector) {
  const char *refusal;

  if (catching.depth == 0)
    rt_fatal("an exception was raised where nothing can catch it (no catcher on the stack)");
  if (rt_finalizers_running && catching.depth <= rt_finalizers_catch_depth)
    rt_fatal("an exception escaped a finalizer (finalizers must not raise)");
  refusal = rt_raise_refusal();
  if (refusal != NULL) rt_fatal("cannot raise an exception here: %s", refusal);
  catching.exception = exception;
  catching.selector = selector;
  set_raising(1);
}

unsigned cwpkg_rt_catch_enter(char *stack_pointer, unsigned raise_paths) {
  if (catching.depth == catching.capacity) {
    unsigned capacity = catching.capacity ? 2 * catching.capacity : 64;
    struct catcher *grown = realloc(catching.catchers, capacity * sizeof *grown);

    if (grown == NULL) cwpkg_rt_out_of_memory(capacity * sizeof *grown);
    catching.catchers = grown;
    catching.capacity = capacity;
  }
  catching.catchers[catching.depth].stack_pointer = stack_pointer;
  catching.catchers[catching.depth].raise_paths = raise_paths;
  return ++catching.depth;
}

unsigned cwpkg_rt_catch_depth(void) { return catching.depth; }

int cwpkg_rt_catch_leave(unsigned depth) {
  catching.depth = depth - 1;
  if (!raising()) return 0;
  set_raising(0);
  tracing.words = NULL;
  rt_set_stack_pointer(catching.catchers[depth - 1].stack_pointer);
  rt_current_fiber->raise_paths = catching.catchers[depth - 1].raise_paths;
  __THREW__ = 1;
  return 1;
}

void cwpkg_rt_trace_raise(void **trace, unsigned words) {
  tracing.words = words > TRACE_FIRST_FRAME ? trace : NULL;
  tracing.capacity = tracing.words != NULL ? words - TRACE_FIRST_FRAME : 0;
}

/* Kept by wasm-ld although nothing calls it yet: the link adds the calls. */
__attribute__((used)) void cwpkg_rt_trace_frame(unsigned frame) {
  uintptr_t count;

  if (tracing.words == NULL) return;
  count = (uintptr_t)tracing.words[TRACE_COUNT];
  if (count >= tracing.capacity) return; /* the innermost frames are kept */
  tracing.words[TRACE_FIRST_FRAME + count] = (void *)(uintptr_t)frame;
  tracing.words[TRACE_COUNT] = (void *)(count + 1);
}

const char *cwpkg_rt_frame_name(unsigned frame) {
  if (&cwpkg_rt_frame_count == NULL || frame >= cwpkg_rt_frame_count) return NULL;
  return cwpkg_rt_frame_name_text + cwpkg_rt_frame_name_offsets[frame];
}
