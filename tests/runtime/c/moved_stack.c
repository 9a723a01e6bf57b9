/* Allocation with the stack pointer moved to a stack of its own, as a
 * fiber runs (a later issue): the stack is memory the program allocated,
 * above the collected heap.  Two protections are checked:
 *
 * - bdwgc's GC_clear_stack() must not clear from there down towards the
 *   lowest stack pointer it saw on the main stack: that would zero the heap
 *   in between (runtime/pending/wasi-clear-stack.patch);
 * - the runtime must not collect while the stack pointer is outside the
 *   main stack: it does not know that stack, so what the code keeps in
 *   memory there (LLVM's shadow stack for address-taken locals) would not be
 *   scanned.  No collection runs there; the heap grows.
 *
 * A list built before the move (reachable from a global) and a list built on
 * the other stack (held only in that stack's memory while it is built) are
 * checked afterwards, cell by cell. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <gc.h>

#define OTHER_STACK_SIZE (64 * 1024)
#define WASM_PAGE_SIZE 65536
#define KEPT_CELLS 100000
#define BUILT_CELLS 200000

struct cell {
  struct cell *next;
  unsigned value;
};

static struct cell *kept, *built;

static uintptr_t get_stack_pointer(void) {
  uintptr_t sp;
  __asm__ volatile(".globaltype __stack_pointer, i32\n\tglobal.get __stack_pointer\n\tlocal.set %0" : "=r"(sp));
  return sp;
}

static void set_stack_pointer(uintptr_t sp) {
  __asm__ volatile(".globaltype __stack_pointer, i32\n\tlocal.get %0\n\tglobal.set __stack_pointer" : : "r"(sp));
}

static struct cell *make_list(unsigned count) {
  struct cell *volatile head = NULL; /* in the shadow stack of the stack we run on */

  for (unsigned i = 0; i < count; i++) {
    struct cell *cell = GC_MALLOC(sizeof *cell);

    if (cell == NULL) abort();
    cell->value = i;
    cell->next = head;
    head = cell;
  }
  return head;
}

/* Runs on the other stack: allocates enough to reach bdwgc's slow paths,
 * which call GC_clear_stack(), and for collections to fall due. */
__attribute__((noinline)) static void build_list(void) { built = make_list(BUILT_CELLS); }

static unsigned damaged(const struct cell *cell, unsigned count) {
  unsigned bad = 0;

  for (; cell != NULL && count > 0; cell = cell->next) bad += cell->value != --count;
  return bad + count + (cell != NULL);
}

int main(void) {
  char *other;
  uintptr_t saved;
  unsigned bad;

  GC_INIT();
  kept = make_list(KEPT_CELLS); /* in the heap, below the other stack */
  /* Fresh pages at the top of linear memory, above the heap that holds kept. */
  other = (char *)(__builtin_wasm_memory_grow(0, OTHER_STACK_SIZE / WASM_PAGE_SIZE) * WASM_PAGE_SIZE);
  saved = get_stack_pointer();
  set_stack_pointer(((uintptr_t)other + OTHER_STACK_SIZE) & ~(uintptr_t)15);
  build_list();
  set_stack_pointer(saved);
  bad = damaged(kept, KEPT_CELLS) + damaged(built, BUILT_CELLS);
  printf("%u cells checked, %u damaged\n", KEPT_CELLS + BUILT_CELLS, bad);
  GC_gcollect();
  return bad != 0;
}
