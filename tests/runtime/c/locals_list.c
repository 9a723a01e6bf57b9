/* A list of 100,000 nodes and a tree held only in ordinary local variables
 * (WebAssembly locals at -O2, outside linear memory) survive hundreds of
 * collections, checked node by node.  The garbage trees are built the way
 * bdwgc's staticrootstest builds them: each new node is held only in a
 * local while its children are allocated.
 *
 * Built with -DWITHOUT_RUNTIME (and linked without cwpkg's runtime), it
 * shows what plain bdwgc does: collections allowed anywhere, the list is
 * freed while in use and overwritten. */
#include <stdio.h>
#include <stdlib.h>

#include <gc.h>

#define LIST_LENGTH 100000
#define KEPT_DEPTH 14
#define GARBAGE_DEPTH 12
#define ROUNDS 1500
#define CHECK_EVERY 50

struct node {
  struct node *next;
  unsigned value;
  unsigned check;
};

struct tree {
  struct tree *left, *right;
  unsigned tag;
  unsigned check;
};

static unsigned scramble(unsigned value) { return value * 2654435761u ^ 0x5bd1e995u; }

static struct tree *make_tree(int depth, unsigned tag) {
  struct tree *tree = GC_MALLOC(sizeof *tree);

  if (tree == NULL) abort();
  tree->tag = tag;
  tree->check = scramble(tag);
  if (depth > 0) {
    tree->left = make_tree(depth - 1, tag * 2);
    tree->right = make_tree(depth - 1, tag * 2 + 1);
  }
  return tree;
}

/* The number of damaged nodes in the tree. */
static unsigned long damaged_tree(const struct tree *tree, int depth, unsigned tag) {
  unsigned long damaged;

  if (tree == NULL) return 1ul << (depth + 1);
  damaged = tree->tag != tag || tree->check != scramble(tag);
  if (depth > 0)
    damaged += damaged_tree(tree->left, depth - 1, tag * 2) +
               damaged_tree(tree->right, depth - 1, tag * 2 + 1);
  return damaged;
}

/* The number of damaged or missing nodes in the list. */
static unsigned long damaged_list(const struct node *list) {
  unsigned long damaged = 0;
  unsigned expected = LIST_LENGTH;

  for (; list != NULL && expected > 0; list = list->next) {
    expected--;
    damaged += list->value != expected || list->check != scramble(expected);
  }
  return damaged + expected + (list != NULL);
}

int main(void) {
  struct node *list = NULL;
  struct tree *kept;
  unsigned long damaged = 0, checks = 0;

  GC_INIT();
#ifdef WITHOUT_RUNTIME
  GC_wasi_allow_collection(1);
#endif
  for (unsigned i = 0; i < LIST_LENGTH; i++) {
    struct node *node = GC_MALLOC(sizeof *node);

    if (node == NULL) abort();
    node->value = i;
    node->check = scramble(i);
    node->next = list;
    list = node;
  }
  kept = make_tree(KEPT_DEPTH, 1);
  for (unsigned round = 0; round < ROUNDS; round++) {
    struct tree *garbage = make_tree(GARBAGE_DEPTH, round + 2);

    damaged += damaged_tree(garbage, GARBAGE_DEPTH, round + 2);
    if (round % CHECK_EVERY == 0) {
      damaged += damaged_list(list) + damaged_tree(kept, KEPT_DEPTH, 1);
      checks++;
    }
  }
  damaged += damaged_list(list) + damaged_tree(kept, KEPT_DEPTH, 1);
  printf("%lu nodes damaged in %lu checks of %d list nodes and %d trees, %lu collections, heap %lu KiB\n",
         damaged, checks + 1, LIST_LENGTH, ROUNDS + 1, (unsigned long)GC_get_gc_no(),
         (unsigned long)GC_get_heap_size() >> 10);
  return damaged != 0;
}
