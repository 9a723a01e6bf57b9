/* libevent on WASI: the poll backend's timers, evbuffers, evutil address parsing, and a signal
 * event refused cleanly (WASI delivers no signals). */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

static int ticks;

static void on_tick(evutil_socket_t fd, short what, void *self)
{
    (void)fd;
    (void)what;
    if (++ticks == 3)
        event_del(self);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

int main(void)
{
    struct event_base *base = event_base_new();
    if (base == NULL) {
        puts("event_base_new failed");
        return 1;
    }
    printf("backend: %s\n", event_base_get_method(base));

    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, event_self_cbarg());
    struct timeval period = {0, 10000}, start, end, elapsed;
    event_add(tick, &period);
    evutil_gettimeofday(&start, NULL);
    event_base_dispatch(base);
    evutil_gettimeofday(&end, NULL);
    evutil_timersub(&end, &start, &elapsed);
    long ms = elapsed.tv_sec * 1000 + elapsed.tv_usec / 1000;
    printf("timer fired %d times, taking at least 30 ms: %s\n", ticks, ms >= 30 ? "yes" : "no");

    struct evbuffer *buffer = evbuffer_new();
    evbuffer_add_printf(buffer, "GET /%s HTTP/1.1\r\nHost: %s\r\n\r\n", "index.html", "example.org");
    printf("evbuffer holds %zu bytes\n", evbuffer_get_length(buffer));
    size_t length;
    char *line;
    while ((line = evbuffer_readln(buffer, &length, EVBUFFER_EOL_CRLF)) != NULL && length > 0) {
        printf("line (%zu): %s\n", length, line);
        free(line);
    }
    free(line);
    printf("left: %zu\n", evbuffer_get_length(buffer));

    struct sockaddr_in address;
    int size = sizeof(address);
    char text[INET_ADDRSTRLEN];
    if (evutil_parse_sockaddr_port("192.0.2.7:8080", (struct sockaddr *)&address, &size) == 0) {
        evutil_inet_ntop(AF_INET, &address.sin_addr, text, sizeof(text));
        printf("parsed: %s port %d\n", text, ntohs(address.sin_port));
    }

    struct event *signal_event = evsignal_new(base, 2, on_signal, NULL);
    printf("signal event: %s\n", event_add(signal_event, NULL) == 0 ? "added" : "refused");

    event_free(signal_event);
    event_free(tick);
    evbuffer_free(buffer);
    event_base_free(base);
    return 0;
}
