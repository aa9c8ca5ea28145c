#define _POSIX_C_SOURCE 200809L
/* A C host that calls libamio from inside libamio's callbacks, as careless
 * hosts do: the position, the stream's info and its events are readable
 * there (also while the control thread closes the stream, which joins the
 * callback's thread: no deadlock), a command made there while the stream
 * closes is refused rather than waited for, and calls that would wait for
 * the callback's own thread (close, stop, start, wait, free) return
 * AMIO_ERROR_IN_CALLBACK instead of deadlocking. Exits 0 on success; run
 * under valgrind. */
#include <amio.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"

static amio_stream *stream;
static atomic_int calls = 0;
static atomic_int positions = 0;
static atomic_int refused = 0;
static atomic_int failures = 0;
/* Set by the control thread just before it closes the stream. */
static atomic_int closing = 0;
/* Reads (position, info, events) made after `closing` was set. */
static atomic_int late_reads = 0;
static atomic_int events_polled = 0;

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void expect_in_callback(amio_status s, const char *what) {
    if (s == AMIO_ERROR_IN_CALLBACK) {
        atomic_fetch_add(&refused, 1);
    } else {
        fprintf(stderr, "%s from a callback: %s (%s)\n", what, amio_status_name(s), amio_last_error());
        atomic_fetch_add(&failures, 1);
    }
}

/* Reads the position, the stream's info and every event waiting. */
static void read_everything(uint64_t stream_frame, size_t frames) {
    amio_position pos;
    if (amio_stream_get_position(stream, &pos) != AMIO_OK || pos.stream_frame > stream_frame + frames) {
        atomic_fetch_add(&failures, 1);
    }
    amio_stream_info info;
    if (amio_stream_get_info(stream, &info) != AMIO_OK || info.period != 64 || info.out_channels != 2) {
        atomic_fetch_add(&failures, 1);
    }
    amio_event ev;
    bool got = true;
    while (got) {
        if (amio_stream_poll_event(stream, &ev, &got) != AMIO_OK) {
            atomic_fetch_add(&failures, 1);
            break;
        }
        if (got) {
            atomic_fetch_add(&events_polled, 1);
        }
    }
}

static void output(void *user, uint64_t stream_frame, const float *samples, size_t frames) {
    (void)user;
    (void)samples;
    (void)frames;
    amio_position pos;
    if (amio_stream_get_position(stream, &pos) == AMIO_OK && pos.stream_frame <= stream_frame + frames) {
        atomic_fetch_add(&positions, 1);
    } else {
        atomic_fetch_add(&failures, 1);
    }
    if (atomic_load(&calls) % 4 == 0) {
        read_everything(stream_frame, frames);
    }
    if (atomic_fetch_add(&calls, 1) == 3) {
        bool finished;
        expect_in_callback(amio_stream_close(stream), "amio_stream_close");
        expect_in_callback(amio_stream_stop(stream), "amio_stream_stop");
        expect_in_callback(amio_stream_start(stream), "amio_stream_start");
        expect_in_callback(amio_stream_wait(stream, 10, &finished), "amio_stream_wait");
        expect_in_callback(amio_stream_free(stream), "amio_stream_free");
    }
    /* Keep the driver's thread busy in the callback while the control
     * thread closes the stream. */
    sleep_ms(2);
    if (atomic_load(&closing)) {
        /* The control thread is closing: give it time to wait for this
         * thread, then read what may be read from any thread. */
        sleep_ms(20);
        read_everything(stream_frame, frames);
        atomic_fetch_add(&late_reads, 1);
        /* A command here would wait for the close, which waits for this
         * thread: refused (or done, if the close has not begun). */
        amio_status s = amio_stream_set_extra_latency(stream, 0);
        if (s != AMIO_OK && s != AMIO_ERROR_IN_CALLBACK) {
            fprintf(stderr, "a command from a callback while closing: %s\n", amio_status_name(s));
            atomic_fetch_add(&failures, 1);
        }
    }
}

static atomic_int event_calls = 0;
static void on_event(void *user) {
    (void)user;
    if (atomic_fetch_add(&event_calls, 1) == 0) {
        expect_in_callback(amio_stream_free(stream), "amio_stream_free (event callback)");
        expect_in_callback(amio_stream_close(stream), "amio_stream_close (event callback)");
    }
}

int main(void) {
    amio_stream_config cfg;
    CHECK(amio_stream_config_init(&cfg));
    cfg.options = "mode=paced";
    cfg.frame_rate = 48000;
    cfg.period = 64;
    cfg.in_channels = 0;
    cfg.output_callback = output;
    CHECK(amio_stream_open("null", &cfg, &stream));
    CHECK(amio_stream_set_event_callback(stream, on_event, NULL));
    CHECK(amio_stream_start(stream));
    for (int i = 0; atomic_load(&calls) < 20 || atomic_load(&event_calls) == 0; i++) {
        EXPECT(i < 5000); /* a hang guard */
        sleep_ms(1);
    }
    /* Close while the callback is running and reading the position, the
     * info and the events. */
    atomic_store(&closing, 1);
    CHECK(amio_stream_close(stream));
    int after_close = atomic_load(&calls);
    sleep_ms(20);
    EXPECT(atomic_load(&calls) == after_close); /* no callback after close */
    EXPECT(atomic_load(&refused) == 7);
    EXPECT(atomic_load(&failures) == 0);
    EXPECT(atomic_load(&positions) == after_close);
    EXPECT(atomic_load(&late_reads) >= 1);
    EXPECT(atomic_load(&events_polled) > 0);
    /* From the control thread the same calls work. */
    CHECK(amio_stream_free(stream));
    printf("callbacks: %d output callbacks read the position, %d calls refused\n", after_close,
           atomic_load(&refused));
    return 0;
}
