/* Exceptions: a raise is an Asyncify unwind that the innermost catcher stops.
 *
 * A program compiled with LLVM's Emscripten-style exception lowering
 * (`-mllvm -enable-emscripten-cxx-exceptions`, which cwpkg link applies to
 * Crystal's LLVM IR) turns every `invoke` into a call of `invoke_SIG(fn,
 * args...)` followed by a test of `__THREW__`, and every landing pad into
 * calls of `__cxa_find_matching_catch_2()` (the exception) and
 * `getTempRet0()` (its selector: for Crystal, the exception's type id).
 * The link generates each invoke_SIG (cwpkg/link/exceptions.py):
 *
 *   invoke_SIG(fn, args)        instrumented by Asyncify; reads the stack
 *     -> catch_through_SIG       pointer and calls, through a function pointer
 *          -> fn(args)           (so that Asyncify checks for an unwind after
 *                                the call), this catcher, which Asyncify
 *                                leaves alone.
 *
 * The catcher marks its depth and the stack pointer invoke_SIG found
 * (cwpkg_rt_catch_enter), calls fn, and asks cwpkg_rt_catch_leave what
 * happened.  A raise (cwpkg_rt_throw) records the
 * exception and the innermost depth, and starts an unwind: every frame
 * between the raise and the catcher returns at once, writing its locals to
 * the free part of the stack as for a collection.  When fn returns into the
 * innermost catcher, cwpkg_rt_catch_leave stops the unwind, drops what was
 * written, puts the stack pointer back where invoke_SIG found it (the
 * skipped frames ran no epilogue), sets __THREW__ and returns; the landing
 * pad runs.  An unwind for a collection or a fiber switch passes through a
 * catcher: it returns, invoke_SIG saves itself, and on the rewind it calls
 * the catcher again, which marks its depth again and calls fn, which
 * rewinds.  So the depth always counts the catchers on the running stack.
 * The stack pointer comes from invoke_SIG, whose locals the rewind restores:
 * the catcher itself, running again, would see the deepest stack pointer of
 * the unwind instead.
 *
 * A finalizer that lets an exception escape would leave the collector's
 * finalizer state behind: that ends the program with a message.
 */
#include <stdlib.h>

#include "cwpkg_rt.h"
#include "rt_internal.h"

/* Set to 1 when a landing pad is to run; the lowered code clears it. */
int __THREW__;
static int temp_ret0;

static struct {
  char **stack_pointers; /* for each catcher depth, the stack pointer it found */
  unsigned depth, capacity;
  void *exception;       /* the one being raised or handled */
  int selector;
  unsigned target;       /* the depth of the catcher an unwind goes to; 0 if none */
} catching;

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
  struct cwpkg_rt_fiber *fiber = rt_current_fiber;
  const char *refusal;

  if (catching.depth == 0)
    rt_fatal("an exception was raised where nothing can catch it (no catcher on the stack)");
  if (rt_finalizers_running && catching.depth <= rt_finalizers_catch_depth)
    rt_fatal("an exception escaped a finalizer (finalizers must not raise)");
  refusal = rt_unwind_refusal();
  if (refusal != NULL) rt_fatal("cannot raise an exception here: %s", refusal);
  catching.exception = exception;
  catching.selector = selector;
  catching.target = catching.depth;
  rt_start_unwind(fiber);
}

unsigned cwpkg_rt_catch_enter(char *stack_pointer) {
  if (catching.depth == catching.capacity) {
    unsigned capacity = catching.capacity ? 2 * catching.capacity : 64;
    char **grown = realloc(catching.stack_pointers, capacity * sizeof *grown);

    if (grown == NULL) cwpkg_rt_out_of_memory(capacity * sizeof *grown);
    catching.stack_pointers = grown;
    catching.capacity = capacity;
  }
  catching.stack_pointers[catching.depth] = stack_pointer;
  return ++catching.depth;
}

unsigned cwpkg_rt_catch_depth(void) { return catching.depth; }

int cwpkg_rt_catch_leave(unsigned depth) {
  catching.depth = depth - 1;
  if (catching.target != depth) return 0;
  catching.target = 0;
  rt_stop_unwind(rt_current_fiber);
  rt_set_stack_pointer(catching.stack_pointers[depth - 1]);
  __THREW__ = 1;
  return 1;
}
