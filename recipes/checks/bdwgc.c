/* bdwgc under WASI: the collector must keep what is reachable from static
 * data and from locals, and must reclaim everything else.
 *
 * Two lists stay alive for the whole run: one reachable only from a global,
 * one only from a local of main (a WebAssembly local at -O2, outside linear
 * memory: cwpkg's runtime unwinds it into linear memory before each
 * collection, see recipes/cwpkg-rt.yaml). Meanwhile several
 * hundred MB of garbage with the same node layout is allocated, so a
 * collector that frees a live node hands it out again and the node's
 * contents change. At the end every live node is checked, and the heap must
 * have stayed far below the total allocated, or the collector never frees. */
#include <gc.h>
#include <stdint.h>
#include <stdio.h>

enum { LIVE_NODES = 20000, GARBAGE_MB = 400, NODE_WORDS = 14 };

struct node {
    struct node *next;
    uint32_t index;
    uint32_t words[NODE_WORDS];
};

static struct node *global_list;

static uint32_t pattern(uint32_t salt, uint32_t index, uint32_t word) {
    return (salt * 0x9E3779B1u) ^ (index * 0x85EBCA77u) ^ (word * 0xC2B2AE3Du);
}

/* The list under construction is held only in a local. */
static struct node *build_list(uint32_t salt) {
    struct node *head = NULL;
    for (uint32_t i = 0; i < LIVE_NODES; i++) {
        struct node *n = GC_MALLOC(sizeof *n);
        if (n == NULL) return NULL;
        n->next = head;
        n->index = i;
        for (uint32_t w = 0; w < NODE_WORDS; w++) n->words[w] = pattern(salt, i, w);
        head = n;
    }
    return head;
}

/* Returns the number of damaged or missing nodes. */
static unsigned damaged_nodes(const struct node *head, uint32_t salt) {
    unsigned bad = 0;
    uint32_t expected = LIVE_NODES;
    for (const struct node *n = head; n != NULL; n = n->next) {
        expected--;
        if (n->index != expected) return bad + 1 + expected;
        for (uint32_t w = 0; w < NODE_WORDS; w++)
            if (n->words[w] != pattern(salt, n->index, w)) { bad++; break; }
    }
    return bad + expected;
}

/* Allocates `megabytes` of short-lived lists that nothing keeps. */
static size_t churn(unsigned megabytes) {
    size_t allocated = 0;
    while (allocated < (size_t)megabytes << 20) {
        struct node *chain = NULL;
        for (uint32_t i = 0; i < 1000; i++) {
            struct node *n = GC_MALLOC(sizeof *n);
            if (n == NULL) return allocated;
            n->next = chain;
            n->index = ~i;
            for (uint32_t w = 0; w < NODE_WORDS; w++) n->words[w] = ~pattern(7, i, w);
            chain = n;
            allocated += sizeof *n;
        }
    }
    return allocated;
}

int main(void) {
    GC_INIT();
    global_list = build_list(1);
    struct node *stack_list = build_list(2);
    if (global_list == NULL || stack_list == NULL) {
        puts("FAIL: out of memory building the live lists");
        return 1;
    }

    size_t allocated = churn(GARBAGE_MB);
    GC_gcollect();

    unsigned bad_global = damaged_nodes(global_list, 1);
    unsigned bad_stack = damaged_nodes(stack_list, 2);
    size_t heap = GC_get_heap_size();
    printf("allocated %zu MB, heap %zu KB, %zu collections\n",
           allocated >> 20, heap >> 10, (size_t)GC_get_gc_no());

    int ok = 1;
    if (allocated < (size_t)GARBAGE_MB << 20) { puts("FAIL: allocation failed"); ok = 0; }
    if (bad_global) { printf("FAIL: %u nodes reachable from a global were freed\n", bad_global); ok = 0; }
    if (bad_stack) { printf("FAIL: %u nodes reachable from the stack were freed\n", bad_stack); ok = 0; }
    if (heap > allocated / 8) { puts("FAIL: the heap grew with the garbage: nothing was freed"); ok = 0; }
    puts(ok ? "bdwgc ok" : "bdwgc FAILED");
    return ok ? 0 : 1;
}
