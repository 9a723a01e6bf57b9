/* A dead end that starts with a call of an instrumented function: `if (argc > 5) { make();
 * abort(); }` is the straight-line path `call make; call abort; unreachable` (make takes no
 * argument, so nothing comes before the call), and `make` allocates and is on the loop's unwinding
 * path too.  The dead-end marker and the forwarder that keeps Binaryen
 * from instrumenting that call both go where the path starts. */
#include <stdio.h>
#include <stdlib.h>

#include "gc.h"

static void *kept;

__attribute__((noinline)) static void *make(void) { return GC_MALLOC(64); }

int main(int argc, char **argv) {
  (void)argv;
  for (int i = 0; i < 100000; i++) {
    kept = make();
    if (argc > 5) {
      make();
      abort();
    }
  }
  puts("done");
  return 0;
}
