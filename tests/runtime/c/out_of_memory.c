/* Keeps everything it allocates reachable, from a local variable only,
 * until the heap cannot grow (run it with GC_MAXIMUM_HEAP_SIZE set): the
 * runtime collects first, then stops the program with an out-of-memory
 * message and a non-zero status instead of returning NULL, which on
 * WebAssembly is ordinary memory to write over. */
#include <stdio.h>

#include <gc.h>

struct chunk {
  struct chunk *previous;
  char payload[4096 - sizeof(struct chunk *)];
};

int main(void) {
  struct chunk *kept = NULL;
  unsigned long count = 0;

  GC_INIT();
  for (;;) {
    struct chunk *chunk = GC_MALLOC(sizeof *chunk);

    if (chunk == NULL) {
      printf("GC_MALLOC returned NULL after %lu chunks\n", count);
      return 0; /* not reached: the runtime stops the program first */
    }
    chunk->previous = kept;
    kept = chunk;
    count++;
  }
}
