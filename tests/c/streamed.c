/* A C host that plays a streamed clip (issue 16): a WAV file opened with
 * amio_clip_open_streamed plays on the null backend, stepped by hand, with
 * a locate on the way, exactly as the same file loaded with
 * amio_clip_new_wav, and no AMIO_EVENT_DATA_MISSING is reported (a stepped
 * null stream waits for the reader). Exits 0 on success. */
#include <amio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define RATE 48000
#define FRAMES 96000
#define CLIP_FRAMES 70000

/* Renders FRAMES frames of `clip` (entries: frames 1000.. at 0, and the
 * whole clip every 80000 frames from 20000) and counts the missing-data
 * events and their frames. */
static void render(amio_clip *clip, float *out, uint64_t *missing_events, uint64_t *missing_frames,
                   uint64_t *missing_id) {
    amio_playspec *ps = NULL;
    CHECK(amio_playspec_new(&ps));
    float g1[2] = {0.5f, 0.25f}, g2[2] = {-0.3f, 0.6f};
    amio_entry e1 = {clip, 1000, AMIO_WHOLE_CLIP, 0, 0, g1, 2, 480, 960};
    amio_entry e2 = {clip, 0, AMIO_WHOLE_CLIP, 20000, 80000, g2, 2, 0, 0};
    uint64_t index = 0;
    CHECK(amio_playspec_add(ps, &e1, &index));
    CHECK(amio_playspec_add(ps, &e2, &index));

    amio_stream_config cfg;
    CHECK(amio_stream_config_init(&cfg));
    cfg.frame_rate = RATE;
    cfg.period = 256;
    cfg.in_channels = 0;
    cfg.out_channels = 2;
    cfg.options = "mode=stepped\n";
    cfg.stream_read_ahead_ms = 200;
    cfg.stream_cache_bytes = 4 << 20;
    amio_stream *st = NULL;
    CHECK(amio_stream_open("null", &cfg, &st));
    uint64_t id = 0;
    CHECK(amio_stream_schedule(st, ps, 0, 0, 0, &id));
    CHECK(amio_transport_roll(st, 0));
    CHECK(amio_transport_locate(st, 60000, 40000));
    CHECK(amio_stream_start(st));
    for (int done = 0; done < FRAMES; done += 500) {
        CHECK(amio_stream_step(st, 500, NULL, 0, out + 2 * done, 1000));
    }
    *missing_events = *missing_frames = *missing_id = 0;
    for (;;) {
        amio_event ev;
        bool got = false;
        CHECK(amio_stream_poll_event(st, &ev, &got));
        if (!got) {
            break;
        }
        if (ev.kind == AMIO_EVENT_DATA_MISSING) {
            *missing_events += 1;
            *missing_frames += ev.frames;
            *missing_id = ev.id;
        }
    }
    CHECK(amio_stream_close(st));
    CHECK(amio_stream_free(st));
    CHECK(amio_playspec_free(ps));
}

int main(int argc, char **argv) {
    const char *tmp = argc > 1 ? argv[1] : "/tmp";
    char path[512];
    snprintf(path, sizeof path, "%s/amio-c-streamed.wav", tmp);

    /* A stereo clip of noise, written as WAV. */
    static float noise[CLIP_FRAMES * 2];
    unsigned x = 12345;
    for (int i = 0; i < CLIP_FRAMES * 2; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise[i] = (float)(int)x / 2147483648.0f;
    }
    amio_clip *made = NULL;
    CHECK(amio_clip_new_f32(RATE, 2, noise, CLIP_FRAMES * 2, &made));
    CHECK(amio_clip_write_wav(made, path));
    CHECK(amio_clip_free(made));

    amio_clip *loaded = NULL, *streamed = NULL;
    CHECK(amio_clip_new_wav(path, &loaded));
    CHECK(amio_clip_open_streamed(path, &streamed));
    uint64_t loaded_id = 99, streamed_id = 0;
    CHECK(amio_clip_stream_id(loaded, &loaded_id));
    CHECK(amio_clip_stream_id(streamed, &streamed_id));
    EXPECT(loaded_id == 0 && streamed_id != 0);
    amio_clip_info info;
    CHECK(amio_clip_get_info(streamed, &info));
    EXPECT(info.frames == CLIP_FRAMES && info.channels == 2 && info.frame_rate == RATE);

    static float want[FRAMES * 2], got[FRAMES * 2];
    uint64_t events = 0, frames = 0, id = 0;
    render(loaded, want, &events, &frames, &id);
    EXPECT(events == 0);
    render(streamed, got, &events, &frames, &id);
    EXPECT(events == 0 && frames == 0);
    EXPECT(memcmp(want, got, sizeof want) == 0);
    int sounding = 0;
    for (int i = 0; i < FRAMES * 2; i++) {
        sounding += want[i] != 0.0f;
    }
    EXPECT(sounding > FRAMES);

    /* A file that is not WAV is refused with a status, not a crash. */
    amio_clip *bad = NULL;
    EXPECT(amio_clip_open_streamed(argv[0], &bad) != AMIO_OK && bad == NULL);
    CHECK(amio_clip_free(loaded));
    CHECK(amio_clip_free(streamed));
    remove(path);
    printf("streamed: %d frames equal to the loaded clip's render\n", FRAMES);
    return 0;
}
