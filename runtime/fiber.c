/* Fibers: further stacks of execution, switched through the bottom frame.
 *
 * A fiber is a stack of its own (memory the program gives, from malloc or
 * its own pool) and an entry function.  Switching from the running fiber to
 * another is an unwind of the running one to the bottom frame, whose
 * service makes the other one current; the bottom frame then rewinds it,
 * or, the first time, calls its entry with the stack pointer at the top of
 * its stack.  So every fiber runs on the engine's one call stack, and a
 * suspended fiber is memory only: its unwound frames in the free part of
 * its stack, the frames' shadow-stack data above them.  Both are roots of
 * every collection (gc.c) while the fiber lives; a fiber that ends switches
 * away with `finished` set, and its state is freed and no longer scanned.
 */
#include <stdlib.h>

#include "cwpkg_rt.h"
#include "rt_internal.h"

#define DEFAULT_FIBER_STACK_SIZE (32 * 1024)
#define STACK_ALIGNMENT 16

/* Set by the link (cwpkg link --fiber-stack-size) in an object of its own;
 * absent, the default applies. */
extern const size_t cwpkg_rt_fiber_stack_bytes __attribute__((weak));

size_t cwpkg_rt_fiber_stack_size(void) {
  if (&cwpkg_rt_fiber_stack_bytes != NULL && cwpkg_rt_fiber_stack_bytes != 0)
    return cwpkg_rt_fiber_stack_bytes;
  return DEFAULT_FIBER_STACK_SIZE;
}

static struct cwpkg_rt_fiber *fibers; /* every fiber but main, newest first */

static struct {
  struct cwpkg_rt_fiber *to;
  int finished;
} pending_switch;

cwpkg_rt_fiber *cwpkg_rt_fiber_create(void *stack, size_t size, void (*entry)(void *),
                                      void *argument) {
  struct cwpkg_rt_fiber *fiber = calloc(1, sizeof *fiber);
  char *high = (char *)(((size_t)stack + size) & ~(size_t)(STACK_ALIGNMENT - 1));

  if (fiber == NULL) return NULL;
  fiber->stack_low = stack;
  fiber->stack_high = high;
  fiber->entry = entry;
  fiber->argument = argument;
  fiber->state = FIBER_NEW;
  fiber->next = fibers;
  if (fibers) fibers->previous = fiber;
  fibers = fiber;
  return fiber;
}

cwpkg_rt_fiber *cwpkg_rt_fiber_current(void) { return rt_current_fiber; }

cwpkg_rt_fiber *cwpkg_rt_fiber_main(void) { return &rt_main_fiber; }

static void forget(struct cwpkg_rt_fiber *fiber) {
  if (fiber->previous) fiber->previous->next = fiber->next;
  else fibers = fiber->next;
  if (fiber->next) fiber->next->previous = fiber->previous;
  free(fiber);
}

/* The switch service: runs at the bottom frame with every fiber unwound. */
static void switch_at_bottom(void) {
  struct cwpkg_rt_fiber *from = rt_current_fiber;

  rt_current_fiber = pending_switch.to;
  if (pending_switch.finished && from != &rt_main_fiber) forget(from);
}

void cwpkg_rt_fiber_switch(cwpkg_rt_fiber *to, int finished) {
  const char *refusal;

  if (to == rt_current_fiber) return;
  refusal = rt_unwind_refusal();
  if (refusal != NULL) rt_fatal("cannot switch fibers: %s", refusal);
  pending_switch.to = to;
  pending_switch.finished = finished;
  rt_unwind_to_bottom(switch_at_bottom);
}

void rt_enter_fiber(struct cwpkg_rt_fiber *fiber) { fiber->entry(fiber->argument); }

void rt_each_other_fiber(rt_range_visitor visit) {
  for (struct cwpkg_rt_fiber *fiber = fibers; fiber; fiber = fiber->next) rt_visit_fiber(fiber, visit);
}
