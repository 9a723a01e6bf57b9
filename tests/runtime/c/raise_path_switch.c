/* A raise whose path switches fibers before it goes on, as an `ensure` can: the catcher must put the
 * fiber's raise paths back to what they were at the invoke, not to what they were when the switch's
 * rewind ran the catcher again; after the catch the program collects again.  The invoke is the call
 * LLVM's Emscripten-style lowering makes (the link generates its catcher), the raise-path marker the
 * call the link puts at the start of a raise's path. */
#include <stdio.h>

#include "cwpkg_rt.h"

extern int __THREW__;
void invoke_vi(void (*fn)(int), int argument);
void cwpkg_rt_raise_path(void);

static cwpkg_rt_fiber *other;
static char other_stack[64 << 10];
static int exception;

static void other_entry(void *unused) {
  (void)unused;
  for (;;) cwpkg_rt_fiber_switch(cwpkg_rt_fiber_main(), 0);
}

static void raise_after_a_switch(int selector) {
  cwpkg_rt_raise_path();
  cwpkg_rt_fiber_switch(other, 0);
  cwpkg_rt_throw(&exception, selector);
}

int main(void) {
  other = cwpkg_rt_fiber_create(other_stack, sizeof other_stack, other_entry, NULL);
  __THREW__ = 0;
  invoke_vi(raise_after_a_switch, 7);
  printf("threw %d, raise paths %u, collected %d\n", __THREW__, cwpkg_rt_raise_paths(), cwpkg_rt_collect());
  return 0;
}
