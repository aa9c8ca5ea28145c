/* A C host that renders on the null backend stepped by hand and checks
 * every sample against values computed here; it also captures input with
 * a configured latency, round-trips a clip through WAV, and is woken by the
 * event file descriptor. Exits 0 on success. */
#include <amio.h>

#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define RATE 48000
#define FRAMES 1000

/* Offline output, collected by the output callback. */
static float offline_out[FRAMES * 2];
static uint64_t offline_frames = 0;

static void collect(void *user, uint64_t stream_frame, const float *samples, size_t frames) {
    (void)user;
    if (stream_frame != offline_frames || stream_frame + frames > FRAMES) {
        fprintf(stderr, "offline output out of order at %llu\n", (unsigned long long)stream_frame);
        exit(1);
    }
    memcpy(offline_out + 2 * stream_frame, samples, frames * 2 * sizeof(float));
    offline_frames += frames;
}

static volatile int woken = 0;
static void wake(void *user) {
    (void)user;
    woken = 1;
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
    const char *tmp = argc > 1 ? argv[1] : "/tmp";
    EXPECT(amio_abi_version() == AMIO_ABI_VERSION);
    EXPECT(strlen(amio_version()) > 0);

    /* A stereo ramp and a mono i16 clip. */
    float ramp[200 * 2];
    for (int f = 0; f < 200; f++) {
        ramp[2 * f] = 0.001f * (float)f;
        ramp[2 * f + 1] = -0.001f * (float)f;
    }
    amio_clip *stereo = NULL, *mono = NULL;
    CHECK(amio_clip_new_f32(RATE, 2, ramp, 400, &stereo));
    int16_t pulse[4] = {16384, -16384, 8192, 0};
    CHECK(amio_clip_new_i16(RATE, 1, pulse, 4, &mono));
    amio_clip_info info;
    CHECK(amio_clip_get_info(stereo, &info));
    EXPECT(info.frames == 200 && info.channels == 2 && info.frame_rate == RATE);

    /* WAV round trip. */
    char path[512];
    snprintf(path, sizeof path, "%s/amio-c-host.wav", tmp);
    CHECK(amio_clip_write_wav(stereo, path));
    amio_clip *back = NULL;
    CHECK(amio_clip_new_wav(path, &back));
    float back_samples[400];
    uint64_t back_frames = 0;
    CHECK(amio_clip_read(back, 0, back_samples, 400, &back_frames));
    EXPECT(back_frames == 200 && memcmp(back_samples, ramp, sizeof ramp) == 0);
    CHECK(amio_clip_free(back));

    /* Playspec: the ramp's frames 10..110 at position 50, gains 0.5 / 2;
     * the pulse every 300 frames from position 7, gains 1 / 1. */
    amio_playspec *ps = NULL;
    CHECK(amio_playspec_new(&ps));
    float g1[2] = {0.5f, 2.0f}, g2[2] = {1.0f, 1.0f};
    amio_entry e1 = {stereo, 10, 110, 50, 0, g1, 2, 0, 0};
    amio_entry e2 = {mono, 0, AMIO_WHOLE_CLIP, 7, 300, g2, 2, 0, 0};
    uint64_t index = 99;
    CHECK(amio_playspec_add(ps, &e1, &index));
    EXPECT(index == 0);
    CHECK(amio_playspec_add(ps, &e2, &index));
    EXPECT(index == 1);

    /* A stepped null stream, 1 input, 2 outputs, latency 16 + 24 frames. */
    amio_stream_config cfg;
    CHECK(amio_stream_config_init(&cfg));
    cfg.frame_rate = RATE;
    cfg.period = 64;
    cfg.in_channels = 1;
    cfg.out_channels = 2;
    cfg.options = "mode=stepped\ncapture_latency=16\nplayback_latency=24\n";
    amio_stream *st = NULL;
    CHECK(amio_stream_open("null", &cfg, &st));
    amio_stream_info si;
    CHECK(amio_stream_get_info(st, &si));
    EXPECT(strcmp(si.backend, "null") == 0 && si.max_period == 64 && si.capture_latency == 16);
    int fd = -1;
    CHECK(amio_stream_event_fd(st, &fd));
    EXPECT(fd >= 0);

    uint64_t id = 0;
    CHECK(amio_stream_schedule(st, ps, 0, 0, 0, &id));
    EXPECT(id == 1);
    CHECK(amio_transport_roll(st, 20)); /* roll at stream frame 20 */
    CHECK(amio_stream_start(st));

    static float out[FRAMES * 2], in[FRAMES];
    for (int s = 0; s < FRAMES; s++) {
        in[s] = (float)s;
    }
    /* Step in uneven periods, as a host's own clock might. */
    int done = 0, sizes[] = {64, 1, 33, 64, 17};
    for (int k = 0; done < FRAMES; k++) {
        int n = sizes[k % 5];
        if (n > FRAMES - done) {
            n = FRAMES - done;
        }
        CHECK(amio_stream_step(st, (uint32_t)n, in + done, (size_t)n, out + 2 * done, (size_t)n * 2));
        done += n;
    }

    /* Every sample, computed here: position p = s - 20 while rolling. */
    for (int s = 0; s < FRAMES; s++) {
        for (int o = 0; o < 2; o++) {
            float want = 0.0f;
            if (s >= 20) {
                long p = s - 20;
                if (p >= 50 && p < 150) {
                    want += g1[o] * ramp[2 * (10 + (p - 50)) + o];
                }
                long j = ((p - 7) % 300 + 300) % 300;
                if (j < 4) {
                    want += g2[o] * ((float)pulse[j] / 32768.0f);
                }
                if (want > 1.0f) want = 1.0f;
                if (want < -1.0f) want = -1.0f;
            }
            if (out[2 * s + o] != want) {
                fprintf(stderr, "frame %d channel %d: %g, expected %g\n", s, o, out[2 * s + o], want);
                return 1;
            }
        }
    }

    /* The event fd wakes us; the outcome is there. */
    struct pollfd pfd = {fd, POLLIN, 0};
    EXPECT(poll(&pfd, 1, 5000) == 1);
    amio_event ev;
    bool got = false, applied = false;
    do {
        CHECK(amio_stream_poll_event(st, &ev, &got));
        if (got && ev.kind == AMIO_EVENT_APPLIED) {
            EXPECT(ev.id == 1 && ev.stream_frame == 0 && ev.position == 0);
            applied = true;
        }
    } while (got);
    EXPECT(applied);

    /* Input: frame s is tagged with the output at s - 40. */
    float buf[128];
    amio_chunk_info ci;
    uint64_t next = 0;
    for (;;) {
        CHECK(amio_stream_read_input(st, buf, 128, &ci, &got));
        if (!got) {
            break;
        }
        EXPECT(ci.stream_frame == next && ci.lost_before == 0);
        for (uint64_t i = 0; i < ci.frames; i++) {
            long s = (long)(ci.stream_frame + i), audible = s - 40;
            EXPECT(buf[i] == (float)s);
            bool rolling = audible >= 20;
            EXPECT(ci.rolling == rolling);
            long pos = ci.rolling ? ci.position + (long)i : ci.position;
            EXPECT(pos == (rolling ? audible - 20 : 0));
        }
        next += ci.frames;
    }
    EXPECT(next == FRAMES);

    amio_position pos;
    CHECK(amio_stream_get_position(st, &pos));
    EXPECT(pos.stream_frame == FRAMES && pos.position == FRAMES - 20 && pos.rolling && pos.id == 1);

    CHECK(amio_stream_close(st));
    CHECK(amio_stream_free(st));

    /* The same session offline, as fast as possible: identical output. */
    cfg.in_channels = 0;
    cfg.options = "mode=offline\nframes=1000";
    cfg.output_callback = collect;
    CHECK(amio_stream_open("null", &cfg, &st));
    CHECK(amio_stream_schedule(st, ps, 0, 0, 0, &id));
    CHECK(amio_transport_roll(st, 20));
    CHECK(amio_stream_start(st));
    bool finished = false;
    CHECK(amio_stream_wait(st, 30000, &finished));
    EXPECT(finished && offline_frames == FRAMES);
    EXPECT(memcmp(offline_out, out, sizeof offline_out) == 0);
    CHECK(amio_stream_close(st));
    do {
        CHECK(amio_stream_poll_event(st, &ev, &got));
        EXPECT(!got || ev.kind != AMIO_EVENT_DROPPED);
    } while (got);
    CHECK(amio_stream_free(st));

    /* Paced like a sound card; the event callback wakes us. */
    cfg.options = "mode=paced";
    cfg.output_callback = NULL;
    CHECK(amio_stream_open("null", &cfg, &st));
    CHECK(amio_stream_set_event_callback(st, wake, NULL));
    CHECK(amio_stream_schedule(st, ps, 0, 0, AMIO_NOW, &id));
    CHECK(amio_transport_roll(st, AMIO_NOW));
    CHECK(amio_stream_start(st));
    for (int i = 0; !woken; i++) {
        EXPECT(i < 5000); /* a hang guard */
        sleep_ms(1);
    }
    applied = false;
    do {
        CHECK(amio_stream_poll_event(st, &ev, &got));
        applied |= got && ev.kind == AMIO_EVENT_APPLIED && ev.id == id;
    } while (got);
    EXPECT(applied);
    CHECK(amio_stream_get_position(st, &pos));
    EXPECT(pos.rolling && pos.stream_frame > 0);
    CHECK(amio_stream_free(st)); /* free closes */
    CHECK(amio_playspec_free(ps));
    CHECK(amio_clip_free(stereo));
    CHECK(amio_clip_free(mono));
    remove(path);
    printf("render_null: %d frames checked\n", FRAMES);
    return 0;
}
