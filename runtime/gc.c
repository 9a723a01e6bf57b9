/* bdwgc under the runtime: collections only where every pointer is visible.
 *
 * bdwgc, patched for WASI (patches/bdwgc/), never collects by itself there;
 * it grows the heap instead.  The link wraps bdwgc's allocation and
 * collection entry points (wasm-ld --wrap=NAME sends every call to NAME from
 * other objects to __wrap_NAME here, and __real_NAME to the original):
 *
 * - before an allocation, if bdwgc's own test says a collection is due and
 *   the stack can be unwound, the stack is unwound to the bottom frame, which
 *   collects with the unwound locals, the shadow stack and static data as
 *   roots, and rewound; then the allocation proceeds.  A collection never
 *   starts inside bdwgc's allocator, whose state an unwind would cut through;
 * - GC_gcollect() and its relatives collect the same way;
 * - finalizers run in the program's own context right after the allocation
 *   or collection that follows the collection finding them, as bdwgc runs
 *   them by default (it runs them inside its allocator, which would put the
 *   allocator on the stack of any unwind a finalizer starts).  bdwgc is kept
 *   in finalize-on-demand mode; a program that asks for that mode itself
 *   gets it, and calls GC_invoke_finalizers() as usual;
 * - a failed allocation is retried after a collection; if it fails again,
 *   the program stops with an out-of-memory message (cwpkg_rt_out_of_memory).
 */
#include <stdio.h>
#include <stdlib.h>

#include <gc/gc.h>
#include <gc/gc_disclaim.h>
#include <gc/gc_mark.h>
#include <gc/gc_typed.h>

#include "cwpkg_rt.h"
#include "rt_internal.h"

#define WASM_PAGE_SIZE 65536
#define HUGE_REQUEST ((size_t)1 << 30)

static struct {
  int user_finalize_on_demand;                /* the program's choice */
  GC_finalizer_notifier_proc user_notifier;   /* the program's notifier */
  int out_of_memory;                          /* bdwgc called the oom function */
  size_t failed_request;                      /* with this size */
  GC_push_other_roots_proc previous_pusher;
  unsigned long collections;
  unsigned long deferred;
} gc;

void __real_GC_gcollect(void);
int __real_GC_try_to_collect(GC_stop_func stop);

/* Runs a collection at the bottom frame.  The service runs on the
 * runtime's own stack, which is all bdwgc's stack scan sees (a program with
 * fibers may have pointed GC_stackbottom elsewhere); every fiber's stack is
 * pushed by push_unwound_frames.  (Inside the runtime too, a call to a
 * wrapped function reaches the wrapper; __real_NAME is bdwgc's.) */
#pragma clang diagnostic ignored "-Wdeprecated-declarations" /* GC_stackbottom */
static int collect_with(int (*collect)(void)) {
  char *program_stackbottom = GC_stackbottom;
  int collected;

  GC_stackbottom = rt_service_stack_high();
  GC_wasi_allow_collection(1);
  collected = collect();
  GC_wasi_allow_collection(0);
  GC_stackbottom = program_stackbottom;
  if (collected) gc.collections++;
  return collected;
}

static int full_collection(void) {
  __real_GC_gcollect();
  return 1;
}

static void collect_at_bottom(void) { collect_with(full_collection); }

static void push_range(char *low, char *high) { GC_push_all_eager(low, high); }

/* Roots besides static data: every live fiber's unwound frames and
 * shadow stack, the main stack's included. */
static void push_unwound_frames(void) {
  rt_each_unwound_range(push_range);
  if (gc.previous_pusher) gc.previous_pusher();
}

/* Whether a collection can run now: an unwind must be possible, bdwgc must
 * not be holding its lock (a callback it runs there may allocate), and the
 * running fiber must not be on a raise's path (whose calls are not
 * instrumented for collections). */
static int can_collect(void) { return cwpkg_rt_can_unwind() && !GC_wasi_lock_held() && !rt_on_raise_path(); }

int cwpkg_rt_collect(void) {
  if (!can_collect()) {
    gc.deferred++;
    return 0;
  }
  rt_unwind_to_bottom(collect_at_bottom);
  return 1;
}

static void collect_if_due(void) {
  if (GC_wasi_collection_due()) cwpkg_rt_collect();
}

static void *GC_CALLBACK note_out_of_memory(size_t bytes) {
  gc.out_of_memory = 1;
  gc.failed_request = bytes;
  return NULL;
}

static void GC_CALLBACK notify_finalizers(void) {
  if (gc.user_finalize_on_demand && gc.user_notifier) gc.user_notifier();
}

int rt_finalizers_running;
unsigned rt_finalizers_catch_depth;

/* The catchers' depth, where exceptions are linked (exceptions.c), else 0. */
unsigned cwpkg_rt_catch_depth(void) __attribute__((weak));

static void finalize_if_pending(void) {
  if (gc.user_finalize_on_demand || rt_finalizers_running || rt_in_service() || rt_on_raise_path()) return;
  if (!GC_should_invoke_finalizers()) return;
  rt_finalizers_running = 1;
  rt_finalizers_catch_depth = cwpkg_rt_catch_depth ? cwpkg_rt_catch_depth() : 0;
  GC_invoke_finalizers();
  rt_finalizers_running = 0;
}

_Noreturn void cwpkg_rt_out_of_memory(size_t bytes) {
  size_t memory = __builtin_wasm_memory_size(0) * (size_t)WASM_PAGE_SIZE;
  const char *refusal = rt_unwind_refusal();

  if (refusal == NULL && GC_wasi_lock_held())
    refusal = "the collector holds its lock (a callback it runs allocated)";
  if (refusal == NULL && rt_on_raise_path())
    refusal = "an exception is on its way to a rescue";

  rt_fatal("out of memory: could not allocate %zu bytes with a %zu MiB heap in %zu MiB of "
           "linear memory%s%s; the heap is limited by the engine's maximum linear memory "
           "(4 GiB for wasm32) and by GC_MAXIMUM_HEAP_SIZE if set",
           bytes, (size_t)(GC_get_heap_size() >> 20), memory >> 20,
           refusal ? ", and no collection was possible: " : " even after a collection",
           refusal ? refusal : "");
}

/* After an allocation returned NULL.  A single request of a quarter of the
 * wasm32 address space or more gets NULL, as bdwgc documents for requests
 * it cannot satisfy: such sizes come from size arithmetic that C code checks
 * (bdwgc's own hugetest asks for sizes near 2 GiB and expects NULL).  For any
 * other, the heap ran out: collect and let the caller retry once, or stop. */
static int should_retry(void) {
  if (!gc.out_of_memory) return 0; /* not an exhausted heap (say, realloc to 0) */
  gc.out_of_memory = 0;
  if (gc.failed_request >= HUGE_REQUEST) return 0;
  if (!cwpkg_rt_collect()) cwpkg_rt_out_of_memory(gc.failed_request);
  return 1;
}

static void check_retry(void *result) {
  if (result == NULL && gc.out_of_memory) {
    gc.out_of_memory = 0;
    cwpkg_rt_out_of_memory(gc.failed_request);
  }
}

/* Runs a call into bdwgc with unwinds forbidden (see rt_no_unwind). */
#define IN_COLLECTOR(statement) \
  do {                          \
    rt_no_unwind++;             \
    statement;                  \
    rt_no_unwind--;             \
  } while (0)

/* The wrapper of an allocation function that returns the object.  bdwgc's
 * allocator runs with unwinds forbidden: its state must not be cut through,
 * and a collection it would want is due at the next allocation anyway.  The
 * link wraps bdwgc's calls between its own public functions too: those
 * reach a wrapper from inside the allocator, and go straight through.  On
 * a raise's path a due collection waits (can_collect), and so do
 * finalizers. */
#define WRAP_ALLOCATION(name, parameters, arguments)                 \
  void *__real_##name parameters;                                    \
  void *__wrap_##name parameters {                                   \
    void *result;                                                    \
    if (rt_no_unwind) return __real_##name arguments;                \
    rt_check_stack();                                                \
    collect_if_due();                                                \
    IN_COLLECTOR(result = __real_##name arguments);                  \
    if (result == NULL && should_retry()) {                          \
      IN_COLLECTOR(result = __real_##name arguments);                \
      check_retry(result);                                           \
    }                                                                \
    finalize_if_pending();                                           \
    return result;                                                   \
  }

WRAP_ALLOCATION(GC_malloc, (size_t lb), (lb))
WRAP_ALLOCATION(GC_malloc_atomic, (size_t lb), (lb))
WRAP_ALLOCATION(GC_malloc_uncollectable, (size_t lb), (lb))
WRAP_ALLOCATION(GC_malloc_atomic_uncollectable, (size_t lb), (lb))
WRAP_ALLOCATION(GC_malloc_ignore_off_page, (size_t lb), (lb))
WRAP_ALLOCATION(GC_malloc_atomic_ignore_off_page, (size_t lb), (lb))
WRAP_ALLOCATION(GC_malloc_stubborn, (size_t lb), (lb))
WRAP_ALLOCATION(GC_malloc_kind, (size_t lb, int k), (lb, k))
WRAP_ALLOCATION(GC_generic_malloc, (size_t lb, int k), (lb, k))
WRAP_ALLOCATION(GC_generic_malloc_ignore_off_page, (size_t lb, int k), (lb, k))
WRAP_ALLOCATION(GC_generic_malloc_uncollectable, (size_t lb, int k), (lb, k))
WRAP_ALLOCATION(GC_generic_or_special_malloc, (size_t lb, int k), (lb, k))
WRAP_ALLOCATION(GC_malloc_many, (size_t lb), (lb))
WRAP_ALLOCATION(GC_memalign, (size_t align, size_t lb), (align, lb))
WRAP_ALLOCATION(GC_realloc, (void *p, size_t lb), (p, lb))
WRAP_ALLOCATION(GC_strdup, (const char *s), (s))
WRAP_ALLOCATION(GC_strndup, (const char *s, size_t n), (s, n))
WRAP_ALLOCATION(GC_malloc_explicitly_typed, (size_t lb, GC_descr d), (lb, d))
WRAP_ALLOCATION(GC_malloc_explicitly_typed_ignore_off_page, (size_t lb, GC_descr d), (lb, d))
WRAP_ALLOCATION(GC_calloc_explicitly_typed, (size_t n, size_t lb, GC_descr d), (n, lb, d))
WRAP_ALLOCATION(GC_finalized_malloc, (size_t lb, const struct GC_finalizer_closure *c), (lb, c))

void __real_GC_generic_malloc_many(size_t lb, int k, void **result);
void __wrap_GC_generic_malloc_many(size_t lb, int k, void **result) {
  if (rt_no_unwind) {
    __real_GC_generic_malloc_many(lb, k, result);
    return;
  }
  collect_if_due();
  IN_COLLECTOR(__real_GC_generic_malloc_many(lb, k, result));
  if (*result == NULL && should_retry()) {
    IN_COLLECTOR(__real_GC_generic_malloc_many(lb, k, result));
    check_retry(*result);
  }
  finalize_if_pending();
}

int __real_GC_posix_memalign(void **memptr, size_t align, size_t lb);
int __wrap_GC_posix_memalign(void **memptr, size_t align, size_t lb) {
  int status;

  if (rt_no_unwind) return __real_GC_posix_memalign(memptr, align, lb);
  collect_if_due();
  IN_COLLECTOR(status = __real_GC_posix_memalign(memptr, align, lb));
  if (status != 0 && should_retry()) {
    IN_COLLECTOR(status = __real_GC_posix_memalign(memptr, align, lb));
    if (status != 0) check_retry(NULL);
  }
  finalize_if_pending();
  return status;
}

/* Collections the program asks for.  Outside a bottom frame (before or
 * after main) none can run, and they do nothing. */
void __wrap_GC_gcollect(void) {
  cwpkg_rt_collect();
  finalize_if_pending();
}

void __wrap_GC_gcollect_and_unmap(void) { __wrap_GC_gcollect(); }

static GC_stop_func requested_stop;

static int stoppable_collection(void) { return __real_GC_try_to_collect(requested_stop); }

static void try_collect_at_bottom(void) { collect_with(stoppable_collection); }

int __wrap_GC_try_to_collect(GC_stop_func stop) {
  unsigned long before = gc.collections;

  if (!can_collect()) {
    gc.deferred++;
    return 0;
  }
  requested_stop = stop;
  rt_unwind_to_bottom(try_collect_at_bottom);
  finalize_if_pending();
  return gc.collections != before;
}

/* Without incremental collection (none on WASI), bdwgc's
 * GC_collect_a_little() collects when one is due, and says no collection is
 * in progress. */
int __real_GC_collect_a_little(void);
int __wrap_GC_collect_a_little(void) {
  int in_progress;

  collect_if_due();
  finalize_if_pending();
  IN_COLLECTOR(in_progress = __real_GC_collect_a_little());
  return in_progress;
}

/* The program's view of the finalization mode: its own settings, while
 * bdwgc itself stays in on-demand mode with the runtime's notifier. */
void __wrap_GC_set_finalize_on_demand(int value) { gc.user_finalize_on_demand = value; }
int __wrap_GC_get_finalize_on_demand(void) { return gc.user_finalize_on_demand; }
void __wrap_GC_set_finalizer_notifier(GC_finalizer_notifier_proc fn) { gc.user_notifier = fn; }
GC_finalizer_notifier_proc __wrap_GC_get_finalizer_notifier(void) { return gc.user_notifier; }

void __real_GC_set_finalize_on_demand(int value);
void __real_GC_set_finalizer_notifier(GC_finalizer_notifier_proc fn);

static void print_statistics(void) {
  struct cwpkg_rt_stats stats;

  cwpkg_rt_get_stats(&stats);
  fprintf(stderr,
          "cwpkg_rt: %lu collections, %lu deferred, largest unwind %zu bytes, "
          "heap %zu KiB, linear memory %zu KiB\n",
          stats.collections, stats.deferred, stats.largest_unwind, stats.heap_size >> 10,
          stats.linear_memory >> 10);
}

void cwpkg_rt_get_stats(struct cwpkg_rt_stats *stats) {
  stats->collections = gc.collections;
  stats->deferred = gc.deferred;
  stats->largest_unwind = rt_largest_unwind();
  stats->linear_memory = __builtin_wasm_memory_size(0) * (size_t)WASM_PAGE_SIZE;
  stats->heap_size = GC_get_heap_size();
}

/* Before main and before the program's own GC_INIT(); bdwgc's setters may
 * run before GC_init().  CWPKG_RT_STATS=1 prints the statistics at exit. */
__attribute__((constructor)) static void set_up_collector(void) {
  const char *stats = getenv("CWPKG_RT_STATS");

  __real_GC_set_finalize_on_demand(1);
  __real_GC_set_finalizer_notifier(notify_finalizers);
  GC_set_oom_fn(note_out_of_memory);
  gc.previous_pusher = GC_get_push_other_roots();
  GC_set_push_other_roots(push_unwound_frames);
  if (stats && *stats && *stats != '0') atexit(print_statistics);
}
