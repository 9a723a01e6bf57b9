/* cwpkg's runtime: collections happen at the bottom frame, with the call
 * stack unwound into linear memory, so nodes held only in WebAssembly locals
 * of frames deep in a recursion survive them.
 *
 * Each level of the recursion keeps its own node in an ordinary local while
 * the levels below allocate garbage; at the bottom every node on the way
 * down is checked. */
#include <cwpkg_rt.h>
#include <gc.h>
#include <stdio.h>

enum { DEPTH = 200, GARBAGE_PER_LEVEL = 4000, NODE_WORDS = 8 };

struct node {
  unsigned words[NODE_WORDS];
};

static unsigned pattern(unsigned depth, unsigned word) { return depth * 2654435761u ^ word * 40503u; }

static struct node *fill(unsigned depth) {
  struct node *n = GC_MALLOC(sizeof *n);
  for (unsigned w = 0; w < NODE_WORDS; w++) n->words[w] = pattern(depth, w);
  return n;
}

static unsigned intact(const struct node *n, unsigned depth) {
  for (unsigned w = 0; w < NODE_WORDS; w++)
    if (n->words[w] != pattern(depth, w)) return 0;
  return 1;
}

/* Returns how many nodes of this level and below were damaged. */
static unsigned descend(unsigned depth) {
  struct node *mine = fill(depth);
  for (unsigned i = 0; i < GARBAGE_PER_LEVEL; i++) {
    struct node *garbage = fill(~depth);
    garbage->words[0] = i;
  }
  unsigned damaged = depth + 1 < DEPTH ? descend(depth + 1) : 0;
  return damaged + !intact(mine, depth);
}

int main(void) {
  GC_INIT();
  unsigned damaged = descend(0);
  struct cwpkg_rt_stats stats;
  cwpkg_rt_get_stats(&stats);
  printf("collections at the bottom frame: %lu\n", stats.collections);
  printf("largest unwind: %zu bytes\n", stats.largest_unwind);
  if (damaged) printf("FAIL: %u nodes held in locals were freed while in use\n", damaged);
  puts(damaged ? "cwpkg-rt FAILED" : "cwpkg-rt ok");
  return damaged ? 1 : 0;
}
