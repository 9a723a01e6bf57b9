/* Allocation with the stack pointer moved to a stack of its own in the
 * heap, as a fiber runs: bdwgc's GC_clear_stack() must not recurse towards
 * the main stack (patches/bdwgc/wasi-clear-stack.patch).  No collection
 * runs there (the runtime does not unwind stacks it does not know); the
 * heap grows, and the data built on the other stack is intact afterwards. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <gc.h>

#define OTHER_STACK_SIZE (64 * 1024)

struct cell {
  struct cell *next;
  unsigned value;
};

static struct cell *built;

static uintptr_t get_stack_pointer(void) {
  uintptr_t sp;
  __asm__ volatile(".globaltype __stack_pointer, i32\n\tglobal.get __stack_pointer\n\tlocal.set %0" : "=r"(sp));
  return sp;
}

static void set_stack_pointer(uintptr_t sp) {
  __asm__ volatile(".globaltype __stack_pointer, i32\n\tlocal.get %0\n\tglobal.set __stack_pointer" : : "r"(sp));
}

/* Runs on the other stack: allocates enough to reach bdwgc's slow paths,
 * which call GC_clear_stack(). */
__attribute__((noinline)) static void build_list(void) {
  for (unsigned i = 0; i < 200000; i++) {
    struct cell *cell = GC_MALLOC(sizeof *cell);

    cell->value = i;
    cell->next = built;
    built = cell;
  }
}

int main(void) {
  char *other = malloc(OTHER_STACK_SIZE);
  uintptr_t saved;
  unsigned expected = 200000, damaged = 0;

  GC_INIT();
  saved = get_stack_pointer();
  set_stack_pointer(((uintptr_t)other + OTHER_STACK_SIZE) & ~(uintptr_t)15);
  build_list();
  set_stack_pointer(saved);
  for (struct cell *cell = built; cell != NULL; cell = cell->next) damaged += cell->value != --expected;
  printf("%u cells checked, %u damaged\n", 200000 - expected, damaged);
  GC_gcollect();
  return damaged != 0 || expected != 0;
}
