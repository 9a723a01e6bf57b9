/* The bottom frame: where every unwind of the runtime ends.
 *
 * Binaryen's Asyncify turns "unwind the stack" into early returns: once
 * asyncify's start_unwind is called, every instrumented function returns as
 * soon as its current call returns, after writing its live locals and the
 * position of that call into a buffer in linear memory.  The function that
 * receives the last return is the bottom frame (run_in_bottom_frame below).
 * There the whole stack is in memory: the buffer holds every frame's locals,
 * the shadow stack (LLVM's stack for address-taken locals, which unwinding
 * does not pop: epilogues are skipped) is untouched.  The bottom frame runs
 * the requested service (a collection), then starts a rewind and calls the
 * program's entry point again: each instrumented function reloads its locals
 * and re-enters the call it was in, until rt_unwind_to_bottom(), the
 * function that started the unwind, is called again and stops the rewind.
 *
 * The buffer is the free part of the stack the unwind starts on: from the
 * lowest address of the stack up to the stack pointer.  That memory is
 * unused while the unwound frames wait, costs nothing when no unwind runs,
 * and grows with the stack size.  The service runs on a stack of its own
 * (64 KiB from malloc, once), so no stack keeps a reserve for it.
 *
 * Fibers (fiber.c) are further stacks of execution: each keeps its unwound
 * frames in the free part of its own stack.  A switch is an unwind of the
 * running fiber whose service names the next one; the bottom frame then
 * rewinds that one, or calls its entry on its own stack the first time.
 * Exceptions (exceptions.c) do not unwind: a raise returns frame after
 * frame to the innermost catcher, through checks the link puts after each
 * call that may raise.  Exported functions of reactor modules will run
 * inside a bottom frame of their own.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cwpkg_rt.h"
#include "rt_internal.h"

/* Laid out by wasm-ld (LLVM 16 or newer): the C stack is
 * [__stack_low, __stack_high) and grows down. */
extern char __stack_low[], __stack_high[];

/* The stack the bottom frame's own work runs on while every fiber's stack
 * is unwound (bdwgc's collection uses a few KiB of it). */
#define SERVICE_STACK_SIZE (64 * 1024)
/* The least room an unwind may get; below it, no unwind starts. */
#define MINIMUM_UNWIND_ROOM (4 * 1024)

struct cwpkg_rt_fiber rt_main_fiber = {
    .stack_low = __stack_low, .stack_high = __stack_high, .state = FIBER_RUNNING};
struct cwpkg_rt_fiber *rt_current_fiber = &rt_main_fiber;

static struct {
  char *service_stack;   /* [service_stack, + SERVICE_STACK_SIZE) */
  rt_service service;    /* what the bottom frame does for this unwind */
  int active;            /* a bottom frame is on the stack */
  int unwinding;         /* an unwind has started and not reached the bottom */
  int rewinding;         /* a rewind is under way until the unwinder stops it */
  int in_service;        /* the bottom frame is running the service */
  int ending;            /* exit() or a dead end was reached: no unwind starts again */
  size_t largest_unwind;
} rt;

char *rt_service_stack_high(void) { return rt.service_stack + SERVICE_STACK_SIZE; }

_Noreturn void rt_fatal(const char *format, ...) {
  /* Formatted on the stack and written straight to the descriptor: after an
   * overflowing unwind, heap and stdio state cannot be trusted. */
  char message[768];
  int length = snprintf(message, sizeof message, "cwpkg_rt: ");
  va_list arguments;

  va_start(arguments, format);
  length += vsnprintf(message + length, sizeof message - length, format, arguments);
  va_end(arguments);
  if (length >= (int)sizeof message - 1) length = sizeof message - 2;
  message[length++] = '\n';
  write(STDERR_FILENO, message, length);
  _Exit(1);
}

unsigned rt_no_unwind;

/* How far below a stack a stack pointer is taken for that stack's overflow
 * rather than for code that moved to a stack of its own. */
#define STACK_OVERFLOW_REACH (1024 * 1024)

/* The stack pointer went below the running stack: the frames there have
 * overwritten whatever lies below it (WebAssembly has no guard page). */
__attribute__((noinline)) static _Noreturn void report_stack_overflow(struct cwpkg_rt_fiber *fiber) {
  size_t stack = fiber->stack_high - fiber->stack_low;

  if (fiber == &rt_main_fiber)
    rt_fatal("stack overflow: the %zu KiB stack is exhausted and the memory below it was "
             "overwritten; link with a larger stack: cwpkg link --stack-size BYTES", stack / 1024);
  rt_fatal("stack overflow in a fiber: its %zu KiB stack is exhausted and the memory below it "
           "was overwritten; link with larger fiber stacks: cwpkg link --fiber-stack-size BYTES",
           stack / 1024);
}

void rt_check_stack(void) {
  struct cwpkg_rt_fiber *fiber = rt_current_fiber;
  char *sp = cwpkg_rt_stack_pointer();

  if (sp <= fiber->stack_low && sp + STACK_OVERFLOW_REACH > fiber->stack_low)
    report_stack_overflow(fiber);
}

const char *rt_raise_refusal(void) {
  if (!rt.active)
    return "no bottom frame is active (the code runs before or after main)";
  if (rt.in_service)
    return "the runtime is at work in the bottom frame";
  if (rt.ending)
    return "the program is ending (exit, or a raise, abort or failed assertion on its way out)";
  if (rt_no_unwind)
    return "the collector's own code is on the stack";
  return NULL;
}

const char *rt_unwind_refusal(void) {
  struct cwpkg_rt_fiber *fiber = rt_current_fiber;
  const char *refusal = rt_raise_refusal();

  if (refusal != NULL) return refusal;
  rt_check_stack();
  if (cwpkg_rt_stack_pointer() <= fiber->stack_low || cwpkg_rt_stack_pointer() > fiber->stack_high)
    return "the code runs on a stack the runtime does not know";
  if (cwpkg_rt_stack_pointer() - fiber->stack_low < MINIMUM_UNWIND_ROOM + UNWIND_MARGIN)
    return "the stack is almost full";
  return NULL;
}

void rt_visit_fiber(struct cwpkg_rt_fiber *fiber, rt_range_visitor visit) {
  if (fiber->state != FIBER_SUSPENDED) return;
  if (fiber->data.position > fiber->stack_low) visit(fiber->stack_low, fiber->data.position);
  if (fiber->stack_high > fiber->saved_sp) visit(fiber->saved_sp, fiber->stack_high);
}

void rt_each_unwound_range(rt_range_visitor visit) {
  rt_visit_fiber(&rt_main_fiber, visit);
  if (rt_each_other_fiber) rt_each_other_fiber(visit);
}

int cwpkg_rt_can_unwind(void) { return rt_unwind_refusal() == NULL; }

int rt_in_service(void) { return rt.in_service; }

size_t rt_largest_unwind(void) { return rt.largest_unwind; }

/* An unwind wrote more than its buffer holds. */
__attribute__((noinline)) static _Noreturn void report_unwind_overflow(struct cwpkg_rt_fiber *fiber,
                                                                       size_t used, size_t room) {
  size_t stack = fiber->stack_high - fiber->stack_low;

  if (fiber == &rt_main_fiber)
    rt_fatal("the call stack is too deep to unwind: its frames need %zu bytes, and the free "
             "part of the stack, where they are written, had %zu (a %zu KiB stack); link "
             "with a larger stack: cwpkg link --stack-size BYTES (wasm-ld -z stack-size=BYTES)",
             used, room, stack / 1024);
  rt_fatal("a fiber's call stack is too deep to unwind: its frames need %zu bytes, and the "
           "free part of its stack, where they are written, had %zu (a %zu KiB fiber stack); "
           "link with larger fiber stacks: cwpkg link --fiber-stack-size BYTES",
           used, room, stack / 1024);
}

/* Starts an unwind of `fiber` (the running one) into the free part of its
 * stack.  Inlined: the caller is the unwinder. */
static inline __attribute__((always_inline)) void start_unwind(struct cwpkg_rt_fiber *fiber) {
  fiber->saved_sp = cwpkg_rt_stack_pointer();
  fiber->data.position = fiber->stack_low;
  fiber->data.end = fiber->saved_sp - UNWIND_MARGIN;
  asyncify_start_unwind(&fiber->data);
}

/* Stops the unwind of `fiber` where it has arrived; returns how many bytes
 * it wrote, or reports an overflow (Asyncify checks only here, after the
 * fact).  Inlined: the caller receives the unwind. */
static inline __attribute__((always_inline)) size_t stop_unwind(struct cwpkg_rt_fiber *fiber) {
  size_t used = fiber->data.position - fiber->stack_low;
  size_t room = fiber->data.end - fiber->stack_low;

  if (used > room) {
    fiber->data.position = fiber->data.end; /* asyncify's own check would trap */
    asyncify_stop_unwind();
    report_unwind_overflow(fiber, used, room);
  }
  asyncify_stop_unwind();
  return used;
}

void rt_unwind_to_bottom(rt_service service) {
  struct cwpkg_rt_fiber *fiber = rt_current_fiber;

  if (rt.rewinding) {
    /* Called again by the rewind: the stack is back. */
    rt.rewinding = 0;
    asyncify_stop_rewind();
    return;
  }
  rt.service = service;
  rt.unwinding = 1;
  start_unwind(fiber);
}

/* The unwind has reached the bottom frame: end it, or report an overflow.
 * Asyncify checks for an overflow only here, after the fact, so the frames
 * that did not fit were written over the stack above the buffer; the
 * program cannot continue, but nothing runs on that memory before exiting. */
static inline __attribute__((always_inline)) void finish_unwind(struct cwpkg_rt_fiber *fiber) {
  size_t used;

  rt.unwinding = 0;
  fiber->state = FIBER_SUSPENDED;
  used = stop_unwind(fiber);
  if (used > rt.largest_unwind) rt.largest_unwind = used;
}

/* A fiber's entry returned instead of switching away. */
__attribute__((noinline)) static _Noreturn void report_fiber_return(void) {
  rt_fatal("a fiber's entry function returned; a fiber ends by switching to another "
           "(cwpkg_rt_fiber_switch with finished set)");
}

/* Runs the service.  No unwind can start inside it, which cwpkg's call-graph
 * analysis relies on: it names this function as one whose callees need no
 * instrumentation for its sake. */
__attribute__((noinline)) static void rt_run_service(void) {
  rt.in_service = 1;
  rt.service();
  rt.in_service = 0;
}

/* Continues with `fiber` after a service: rewinds it, or, the first time,
 * lets the bottom frame call its entry on its own stack. */
static inline __attribute__((always_inline)) void prepare_to_continue(
    struct cwpkg_rt_fiber *fiber) {
  if (fiber->state == FIBER_NEW) {
    fiber->state = FIBER_RUNNING;
    rt_set_stack_pointer(fiber->stack_high);
    return;
  }
  fiber->state = FIBER_RUNNING;
  rt_set_stack_pointer(fiber->saved_sp);
  rt.rewinding = 1;
  asyncify_start_rewind(&fiber->data);
}

/* The bottom frame.  It calls asyncify's stop_unwind and start_rewind, so
 * Asyncify never instruments it; it must not be inlined into a function
 * that has to be instrumented (cwpkg_rt_run).  It calls the main entry or
 * the current fiber's entry; when that call returns because of an unwind,
 * it moves to the service stack, runs the service and continues with the
 * current fiber (a switch service changes which one that is). */
__attribute__((noinline)) static int run_in_bottom_frame(int (*entry)(void *), void *argument) {
  int result = 0;

  if (rt.service_stack == NULL && (rt.service_stack = malloc(SERVICE_STACK_SIZE)) == NULL)
    cwpkg_rt_out_of_memory(SERVICE_STACK_SIZE);
  rt.active = 1;
  for (;;) {
    struct cwpkg_rt_fiber *fiber = rt_current_fiber;

    if (fiber == &rt_main_fiber)
      result = entry(argument);
    else
      rt_enter_fiber(fiber);
    if (!rt.unwinding) {
      if (fiber == &rt_main_fiber) break;
      rt_set_stack_pointer(rt_service_stack_high());
      report_fiber_return();
    }
    rt_set_stack_pointer(rt_service_stack_high());
    finish_unwind(fiber);
    rt_run_service();
    prepare_to_continue(rt_current_fiber);
  }
  rt.active = 0;
  return result;
}

int cwpkg_rt_run(int (*entry)(void *), void *argument) {
  if (rt.active) return entry(argument);
  return run_in_bottom_frame(entry, argument);
}

/* The program's entry points, wrapped by the link (wasm-ld --wrap): a C
 * program's crt1 calls __original_main, Crystal's _start calls __main_void,
 * and libc's __original_main calls __main_void in turn.  Whichever comes
 * first opens the bottom frame. */
int __real___original_main(void);
int __real___main_void(void);

static int original_main(void *unused) {
  (void)unused;
  return __real___original_main();
}

static int main_void(void *unused) {
  (void)unused;
  return __real___main_void();
}

int __wrap___original_main(void) { return cwpkg_rt_run(original_main, NULL); }

int __wrap___main_void(void) { return cwpkg_rt_run(main_void, NULL); }

/* exit(), wrapped too: once the program exits, no unwind starts (atexit
 * handlers may allocate, but an ending program need not collect).  cwpkg's
 * call-graph analysis relies on it, as for every __wrap_NAME. */
_Noreturn void __real_exit(int status);
_Noreturn void __wrap_exit(int status) {
  rt.ending = 1;
  rt_no_unwind++;
  __real_exit(status);
}

/* Called where a straight-line path that ends in `unreachable` starts (a
 * raise: without exceptions Crystal 1.6 exits there; an abort; a failed
 * assertion): cwpkg puts the call there when it instruments a module that
 * does not catch exceptions.  From then on no unwind starts: the program is
 * ending, so the functions such paths call need no Asyncify instrumentation
 * for their sake, which spares every function with an overflow check in
 * Crystal.  Kept in the link although nothing calls it before then. */
__attribute__((used)) void cwpkg_rt_dead_end(void) {
  rt.ending = 1;
  rt_no_unwind++;
}

/* The same place in a module that catches exceptions (exceptions.c): the
 * path is a raise on its way to a catcher, which may run `ensure` code
 * first.  From then on the running fiber does not collect (a collection
 * waits, and so do finalizers), until the catcher that the
 * raise returns to takes it back; a fiber switch is still possible: cwpkg
 * instruments the functions on such paths that can reach one. */
__attribute__((used)) void cwpkg_rt_raise_path(void) { rt_current_fiber->raise_paths++; }

unsigned cwpkg_rt_raise_paths(void) { return rt_current_fiber->raise_paths; }
