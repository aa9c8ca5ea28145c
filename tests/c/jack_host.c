/* A C host that opens the "jack" backend by name (a plugin libamio loads
 * at run time) against the JACK server named in argv[1], plays, captures
 * and closes. Its ports connect to the server's physical ports, whose
 * latencies (one period each way with the dummy backend) set L. */
#include <amio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

static int saw_null = 0, saw_jack = 0, devices = 0;
static const char *server_name = "";

static void backend(void *user, const char *name, const char *location, amio_status status, const char *message) {
    (void)user;
    (void)message;
    if (strcmp(name, "null") == 0 && strcmp(location, "built in") == 0 && status == AMIO_OK) {
        saw_null = 1;
    }
    if (strcmp(name, "jack") == 0 && strstr(location, "libamio_jack.so") && status == AMIO_OK) {
        saw_jack = 1;
    }
}

static void device(void *user, const char *name, const char *description, uint32_t in, uint32_t out) {
    (void)user;
    (void)description;
    if (strcmp(name, server_name) == 0 && in == 2 && out == 2) {
        devices++;
    }
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: jack_host SERVER PERIOD\n");
        return 2;
    }
    const char *server = argv[1];
    long period = atol(argv[2]);
    char options[256];
    snprintf(options, sizeof options, "server=%s\nclient_name=chost\nconnect=physical\n", server);

    /* The backends on this machine, and the JACK server as a device. */
    CHECK(amio_backends(backend, NULL));
    EXPECT(saw_null && saw_jack);
    server_name = server;
    char device_options[128];
    snprintf(device_options, sizeof device_options, "server=%s", server);
    CHECK(amio_backend_devices("jack", device_options, device, NULL));
    EXPECT(devices == 1);

    /* A host tells "no server" from "unsupported configuration" by
     * status: a server that is not running, a frame rate the running one
     * does not have. Nothing is made. */
    amio_stream_config bad;
    CHECK(amio_stream_config_init(&bad));
    char no_server[256];
    snprintf(no_server, sizeof no_server, "server=%s-not-running\nclient_name=chost\n", server);
    bad.options = no_server;
    amio_stream *none = NULL;
    amio_status s = amio_stream_open("jack", &bad, &none);
    if (s != AMIO_ERROR_NO_SERVER) {
        fprintf(stderr, "no server: %s (%s)\n", amio_status_name(s), amio_last_error());
    }
    EXPECT(s == AMIO_ERROR_NO_SERVER && none == NULL);
    bad.options = options;
    bad.frame_rate = 44100;
    s = amio_stream_open("jack", &bad, &none);
    if (s != AMIO_ERROR_UNSUPPORTED) {
        fprintf(stderr, "44100 Hz: %s (%s)\n", amio_status_name(s), amio_last_error());
    }
    EXPECT(s == AMIO_ERROR_UNSUPPORTED && none == NULL && strstr(amio_last_error(), "44100"));

    amio_stream_config cfg;
    CHECK(amio_stream_config_init(&cfg));
    cfg.in_channels = 1;
    cfg.out_channels = 1;
    cfg.options = options;
    amio_stream *st = NULL;
    CHECK(amio_stream_open("jack", &cfg, &st));
    amio_stream_info si;
    CHECK(amio_stream_get_info(st, &si));
    EXPECT(strcmp(si.backend, "jack") == 0);
    EXPECT(si.frame_rate == 48000 && (long)si.period == period);

    float tone[480];
    for (int i = 0; i < 480; i++) {
        tone[i] = 0.25f;
    }
    amio_clip *c = NULL;
    CHECK(amio_clip_new_f32(si.frame_rate, 1, tone, 480, &c));
    amio_playspec *ps = NULL;
    CHECK(amio_playspec_new(&ps));
    float g = 1.0f;
    amio_entry e = {c, 0, AMIO_WHOLE_CLIP, 0, 480, &g, 1, 0, 0};
    CHECK(amio_playspec_add(ps, &e, NULL));
    uint64_t id = 0;
    CHECK(amio_stream_schedule(st, ps, 0, 0, 0, &id));
    const uint64_t roll_at = 4800;
    CHECK(amio_transport_roll(st, roll_at));
    CHECK(amio_stream_start(st));

    /* Run for a while, reading input as a recorder would. */
    float buf[512];
    amio_chunk_info ci;
    bool got = false;
    uint64_t next = 0, rolling_frames = 0, latency = 0;
    amio_position pos = {0};
    for (int spins = 0; pos.stream_frame < 48000; spins++) {
        EXPECT(spins < 20000); /* a hang guard, ~20 s */
        sleep_ms(1);
        amio_event ev;
        do {
            CHECK(amio_stream_poll_event(st, &ev, &got));
            if (got && ev.kind == AMIO_EVENT_LATENCY) {
                latency = ev.frames;
            }
            EXPECT(!got || ev.kind != AMIO_EVENT_FATAL);
        } while (got);
        for (;;) {
            CHECK(amio_stream_read_input(st, buf, 512, &ci, &got));
            if (!got) {
                break;
            }
            EXPECT(ci.stream_frame == next);
            if (ci.rolling) {
                /* What was audible: the roll happened L frames earlier. */
                EXPECT(ci.position == (int64_t)(ci.stream_frame - latency - roll_at));
                rolling_frames += ci.frames;
            }
            next += ci.frames;
        }
        CHECK(amio_stream_get_position(st, &pos));
    }
    EXPECT(latency == 2 * (uint64_t)period);
    EXPECT(rolling_frames > 30000);
    EXPECT(pos.rolling && pos.position > 0);

    CHECK(amio_stream_close(st));
    /* After close: the outcome is readable, commands are refused. */
    EXPECT(amio_transport_roll(st, AMIO_NOW) == AMIO_ERROR_CLOSED);
    CHECK(amio_stream_free(st));
    CHECK(amio_playspec_free(ps));
    CHECK(amio_clip_free(c));
    printf("jack_host: %llu frames captured, L = %llu\n", (unsigned long long)next, (unsigned long long)latency);
    return 0;
}
