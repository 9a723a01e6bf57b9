/* Waiting for descriptors and time, for an event loop: one poll_oneoff.
 *
 * WASI preview 1 has no signals and no threads, so an event loop waits in
 * one place: poll_oneoff, with a relative clock subscription for the
 * nearest timer and a read or write subscription per descriptor. */
#include <stdlib.h>
#include <wasi/api.h>

#include "cwpkg_rt.h"

static __wasi_subscription_t *subscriptions;
static __wasi_event_t *events;
static size_t capacity;

static int reserve(size_t count) {
  if (count <= capacity) return 1;
  size_t wanted = count < 16 ? 16 : count * 2;
  __wasi_subscription_t *more_subscriptions = realloc(subscriptions, wanted * sizeof *subscriptions);
  if (more_subscriptions == NULL) return 0;
  subscriptions = more_subscriptions;
  __wasi_event_t *more_events = realloc(events, wanted * sizeof *events);
  if (more_events == NULL) return 0;
  events = more_events;
  capacity = wanted;
  return 1;
}

int cwpkg_rt_wait(struct cwpkg_rt_wait *waits, size_t count, long long timeout_ns) {
  size_t total = count + (timeout_ns >= 0), ready = 0;
  __wasi_size_t delivered = 0;

  if (total == 0) return -__WASI_ERRNO_INVAL;
  if (!reserve(total)) return -__WASI_ERRNO_NOMEM;
  for (size_t i = 0; i < count; i++) {
    __wasi_subscription_t *s = &subscriptions[i];
    waits[i].ready = 0;
    s->userdata = i;
    s->u.tag = waits[i].write ? __WASI_EVENTTYPE_FD_WRITE : __WASI_EVENTTYPE_FD_READ;
    if (waits[i].write) s->u.u.fd_write.file_descriptor = waits[i].fd;
    else s->u.u.fd_read.file_descriptor = waits[i].fd;
  }
  if (timeout_ns >= 0) {
    __wasi_subscription_t *s = &subscriptions[count];
    s->userdata = count;
    s->u.tag = __WASI_EVENTTYPE_CLOCK;
    s->u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    s->u.u.clock.timeout = (__wasi_timestamp_t)timeout_ns;
    s->u.u.clock.precision = 0;
    s->u.u.clock.flags = 0;
  }
  __wasi_errno_t error = __wasi_poll_oneoff(subscriptions, events, total, &delivered);
  if (error != 0) return -(int)error;
  for (size_t i = 0; i < delivered; i++) {
    size_t which = events[i].userdata;
    if (which < count && !waits[which].ready) {
      waits[which].ready = 1;
      ready++;
    }
  }
  return (int)ready;
}
