#define _POSIX_C_SOURCE 200809L
/* A C host that calls libamio from inside libamio's callbacks, as careless
 * hosts do: the position is readable there (also while the control thread
 * closes the stream, which joins the callback's thread: no deadlock), and
 * calls that would wait for the callback's own thread (close, stop, start,
 * wait, free) return AMIO_ERROR_IN_CALLBACK instead of deadlocking.
 * Exits 0 on success; run under valgrind. */
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
    /* Close while the callback is running and reading the position. */
    CHECK(amio_stream_close(stream));
    int after_close = atomic_load(&calls);
    sleep_ms(20);
    EXPECT(atomic_load(&calls) == after_close); /* no callback after close */
    EXPECT(atomic_load(&refused) == 7);
    EXPECT(atomic_load(&failures) == 0);
    EXPECT(atomic_load(&positions) == after_close);
    /* From the control thread the same calls work. */
    CHECK(amio_stream_free(stream));
    printf("callbacks: %d output callbacks read the position, %d calls refused\n", after_close,
           atomic_load(&refused));
    return 0;
}
