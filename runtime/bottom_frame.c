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
 * lowest address of the stack up to the stack pointer, less a reserve for
 * the service's own frames.  That memory is unused while the unwound frames
 * wait, costs nothing when no unwind runs, and grows with the stack size.
 *
 * Later users of the same frame (see docs/wasm-runtime.md): fibers, whose
 * switch is an unwind of one fiber followed by the rewind of another, each
 * fiber keeping its buffer in the free part of its own stack; exceptions,
 * whose unwind is stopped by the innermost catcher instead; exported
 * functions of reactor modules, which run inside a bottom frame of their own.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cwpkg_rt.h"
#include "rt_internal.h"

/* Implemented by Binaryen's Asyncify pass (wasm-opt --asyncify). */
#define ASYNCIFY_IMPORT(name) \
  __attribute__((import_module("asyncify"), import_name(name)))
ASYNCIFY_IMPORT("start_unwind") void asyncify_start_unwind(void *data);
ASYNCIFY_IMPORT("stop_unwind") void asyncify_stop_unwind(void);
ASYNCIFY_IMPORT("start_rewind") void asyncify_start_rewind(void *data);
ASYNCIFY_IMPORT("stop_rewind") void asyncify_stop_rewind(void);

/* Laid out by wasm-ld (LLVM 16 or newer): the C stack is
 * [__stack_low, __stack_high) and grows down. */
extern char __stack_low[], __stack_high[];

/* Stack kept free below the stack pointer for the service's own frames
 * (bdwgc's collection uses a few KiB of it). */
#define SERVICE_RESERVE (64 * 1024)
/* The least room an unwind may get; below it, no unwind starts. */
#define MINIMUM_UNWIND_ROOM (4 * 1024)

/* The layout Binaryen's Asyncify reads and writes (Asyncify.cpp). */
struct asyncify_data {
  char *position; /* next byte to write (unwind) or end of the data (rewind) */
  char *end;      /* writing past it is an overflow */
};

static struct {
  struct asyncify_data data;
  char *buffer;          /* where the current unwind's data starts */
  rt_service service;    /* what the bottom frame does for this unwind */
  int active;            /* a bottom frame is on the stack */
  int unwinding;         /* an unwind has started and not reached the bottom */
  int rewinding;         /* a rewind is under way until the unwinder stops it */
  int in_service;        /* the bottom frame is running the service */
  size_t largest_unwind;
} rt;

static char *stack_pointer(void) {
  char *sp;
  __asm__ volatile(".globaltype __stack_pointer, i32\n\t"
                   "global.get __stack_pointer\n\t"
                   "local.set %0"
                   : "=r"(sp));
  return sp;
}

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

const char *rt_unwind_refusal(void) {
  if (!rt.active)
    return "no bottom frame is active (the code runs before or after main)";
  if (rt.in_service)
    return "the runtime is at work in the bottom frame";
  if (rt_no_unwind)
    return "the collector's own code is on the stack";
  if (stack_pointer() <= __stack_low || stack_pointer() > __stack_high)
    return "the code runs on a stack other than the main one";
  if (stack_pointer() - __stack_low < SERVICE_RESERVE + MINIMUM_UNWIND_ROOM)
    return "the stack is almost full";
  return NULL;
}

int cwpkg_rt_can_unwind(void) { return rt_unwind_refusal() == NULL; }

int rt_in_service(void) { return rt.in_service; }

size_t rt_largest_unwind(void) { return rt.largest_unwind; }

void rt_unwound_frames(char **start, char **end) {
  *start = rt.in_service ? rt.buffer : NULL;
  *end = rt.in_service ? rt.data.position : NULL;
}

void rt_unwind_to_bottom(rt_service service) {
  if (rt.rewinding) {
    /* Called again by the rewind: the stack is back. */
    rt.rewinding = 0;
    asyncify_stop_rewind();
    return;
  }
  rt.service = service;
  rt.buffer = __stack_low;
  rt.data.position = rt.buffer;
  rt.data.end = stack_pointer() - SERVICE_RESERVE;
  rt.unwinding = 1;
  asyncify_start_unwind(&rt.data);
}

/* The unwind has reached the bottom frame: end it, or report an overflow.
 * Asyncify checks for an overflow only here, after the fact, so the frames
 * that did not fit were written over the stack above the buffer; the
 * program cannot continue, but nothing runs on that memory before exiting. */
static void finish_unwind(void) {
  size_t used = rt.data.position - rt.buffer;
  size_t room = rt.data.end - rt.buffer;

  rt.unwinding = 0;
  if (used > room) {
    rt.data.position = rt.data.end; /* asyncify's own check would trap */
    asyncify_stop_unwind();
    rt_fatal("the call stack is too deep to unwind for a garbage collection: its frames "
             "need %zu bytes, and the free part of the stack, where they are written, "
             "had %zu (a %zu KiB stack, %d KiB of it reserved for the collector); "
             "link with a larger stack: wasm-ld -z stack-size=BYTES",
             used, room, (size_t)(__stack_high - __stack_low) / 1024, SERVICE_RESERVE / 1024);
  }
  asyncify_stop_unwind();
  if (used > rt.largest_unwind) rt.largest_unwind = used;
}

/* Runs the service.  No unwind can start inside it, which cwpkg's call-graph
 * analysis relies on: it names this function as one whose callees need no
 * instrumentation for its sake. */
__attribute__((noinline)) static void rt_run_service(void) {
  rt.in_service = 1;
  rt.service();
  rt.in_service = 0;
}

/* The bottom frame.  It calls asyncify's stop_unwind and start_rewind, so
 * Asyncify never instruments it; it must not be inlined into a function
 * that has to be instrumented (cwpkg_rt_run). */
__attribute__((noinline)) static int run_in_bottom_frame(int (*entry)(void *), void *argument) {
  int result;

  rt.active = 1;
  for (;;) {
    result = entry(argument);
    if (!rt.unwinding) break;
    finish_unwind();
    rt_run_service();
    rt.rewinding = 1;
    asyncify_start_rewind(&rt.data);
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
  rt_no_unwind++;
  __real_exit(status);
}

/* Called where a straight-line path that ends in `unreachable` starts (a
 * raise: Crystal 1.6 exits there; an abort; a failed assertion): cwpkg puts
 * the call there when it instruments the module.  From then on no unwind
 * starts: the program is ending (a raise that unwinds to a handler must
 * restore rt_no_unwind), so the functions such paths call need no Asyncify
 * instrumentation for their sake, which spares every function with an
 * overflow check in Crystal.  Kept in the link although nothing calls it
 * before then. */
__attribute__((used)) void cwpkg_rt_dead_end(void) { rt_no_unwind++; }
