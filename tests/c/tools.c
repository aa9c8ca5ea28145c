/* A C host using the clip tools, AU and FLAC files, meters and the fader,
 * checked against values computed here; live meters of a stepped null
 * stream equal the offline meters of the same clip. Run under valgrind.
 * argv[1]: a directory for scratch files. Exits 0 on success. */
#include <amio.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#define FAILS(call, status)                                                      \
    do {                                                                         \
        amio_status s_ = (call);                                                 \
        if (s_ != (status)) {                                                    \
            fprintf(stderr, "%s:%d: %s -> %s, expected %s\n", __FILE__, __LINE__, \
                    #call, amio_status_name(s_), amio_status_name(status));       \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

static uint64_t frames_of(const amio_clip *c) {
    amio_clip_info i;
    CHECK(amio_clip_get_info(c, &i));
    return i.frames;
}

static float sample(const amio_clip *c, uint64_t frame, uint32_t channel) {
    amio_clip_info i;
    CHECK(amio_clip_get_info(c, &i));
    float buf[64];
    uint64_t got = 0;
    CHECK(amio_clip_read(c, frame, buf, i.channels, &got));
    EXPECT(got == 1);
    return buf[channel];
}

/* Writes an AU file of float samples in either byte order. */
static void write_au(const char *path, int big_endian, uint32_t encoding, uint32_t rate,
                     uint32_t channels, const float *samples, uint32_t count) {
    FILE *f = fopen(path, "wb");
    EXPECT(f != NULL);
    uint32_t words[6] = {0x2e736e64u, 24, count * 4, encoding, rate, channels};
    for (int i = 0; i < 6 + (int)count; i++) {
        uint32_t v;
        if (i < 6) {
            v = words[i];
        } else {
            memcpy(&v, &samples[i - 6], 4);
        }
        unsigned char b[4];
        for (int k = 0; k < 4; k++) {
            b[big_endian ? k : 3 - k] = (unsigned char)(v >> (24 - 8 * k));
        }
        EXPECT(fwrite(b, 1, 4, f) == 4);
    }
    EXPECT(fclose(f) == 0);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";

    /* A sine at known phases: 1 kHz at 8 kHz is 8 frames a cycle. */
    amio_clip *sine = NULL;
    CHECK(amio_clip_new_sine(8000, 2, 16, 1000.0, 0.5f, &sine));
    EXPECT(sample(sine, 0, 0) == 0.0f && sample(sine, 2, 0) == 0.5f);
    EXPECT(sample(sine, 4, 1) == 0.0f && sample(sine, 6, 1) == -0.5f);
    FAILS(amio_clip_new_sine(8000, 1, 16, -5.0, 0.5f, &sine), AMIO_ERROR_INVALID_ARGUMENT);
    FAILS(amio_clip_new_sine(8000, 1, 16, NAN, 0.5f, &sine), AMIO_ERROR_INVALID_ARGUMENT);

    /* Silence, concatenation, overwrite, resize, channel, stereo. */
    amio_clip *silence = NULL, *left = NULL, *right = NULL, *both = NULL;
    CHECK(amio_clip_new_silence(8000, 2, 10, &silence));
    const amio_clip *parts[3] = {sine, silence, sine};
    amio_clip *joined = NULL;
    CHECK(amio_clip_concat(parts, 3, &joined));
    EXPECT(frames_of(joined) == 42);
    EXPECT(sample(joined, 28, 0) == 0.5f);
    CHECK(amio_clip_channel(sine, 1, &left));
    CHECK(amio_clip_new_silence(8000, 1, 16, &right));
    CHECK(amio_clip_stereo(left, right, &both));
    EXPECT(sample(both, 2, 0) == 0.5f && sample(both, 2, 1) == 0.0f);
    const amio_clip *mixed[2] = {sine, left};
    amio_clip *none = NULL;
    FAILS(amio_clip_concat(mixed, 2, &none), AMIO_ERROR_INVALID_CLIP);
    EXPECT(strstr(amio_last_error(), "clip 1 has channels 1, clip 0 has 2") != NULL);
    FAILS(amio_clip_concat(NULL, 2, &none), AMIO_ERROR_NULL_POINTER);
    FAILS(amio_clip_channel(sine, 2, &none), AMIO_ERROR_INVALID_ARGUMENT);
    FAILS(amio_clip_stereo(sine, left, &none), AMIO_ERROR_INVALID_ARGUMENT);
    amio_clip *over = NULL;
    CHECK(amio_clip_overwrite(silence, sine, -2, false, &over));
    EXPECT(frames_of(over) == 10 && sample(over, 0, 0) == 0.5f);
    CHECK(amio_clip_free(over));
    CHECK(amio_clip_overwrite(silence, sine, 8, true, &over));
    EXPECT(frames_of(over) == 24 && sample(over, 10, 0) == 0.5f);
    CHECK(amio_clip_free(over));
    CHECK(amio_clip_overwrite(silence, sine, 8, false, &over));
    EXPECT(frames_of(over) == 10);
    CHECK(amio_clip_free(over));
    FAILS(amio_clip_overwrite(silence, sine, INT64_MAX, true, &over), AMIO_ERROR_INVALID_ARGUMENT);
    FAILS(amio_clip_new_silence(8000, 2, UINT64_MAX, &none), AMIO_ERROR_INVALID_ARGUMENT);
    amio_clip *sized = NULL;
    CHECK(amio_clip_resize(sine, 20, &sized));
    EXPECT(frames_of(sized) == 20 && sample(sized, 19, 0) == 0.0f);
    CHECK(amio_clip_free(sized));

    /* AU files of float samples in both byte orders. */
    float au_samples[6] = {0.5f, -0.25f, 1.0f, -1.0f, 0.125f, 3e-5f};
    char path[512];
    for (int big = 0; big < 2; big++) {
        snprintf(path, sizeof path, "%s/tools-%d.au", dir, big);
        write_au(path, big, 6, 44100, 2, au_samples, 6);
        amio_clip *au = NULL;
        CHECK(amio_clip_new_au(path, &au));
        amio_clip_info i;
        CHECK(amio_clip_get_info(au, &i));
        EXPECT(i.frame_rate == 44100 && i.channels == 2 && i.frames == 3);
        float back[6];
        uint64_t got = 0;
        CHECK(amio_clip_read(au, 0, back, 6, &got));
        EXPECT(got == 3 && memcmp(back, au_samples, sizeof back) == 0);
        CHECK(amio_clip_free(au));
    }
    write_au(path, 1, 3, 44100, 1, au_samples, 1);
    FAILS(amio_clip_new_au(path, &none), AMIO_ERROR_FORMAT);
    EXPECT(strstr(amio_last_error(), "encoding 3 (16-bit linear PCM)") != NULL);
    FAILS(amio_clip_new_au(NULL, &none), AMIO_ERROR_NULL_POINTER);

    /* FLAC files: samples scaled by 2^(bits-1), rounded to nearest and
     * clamped (1.0 and beyond become the largest integer, below -1 becomes
     * -1), read back exactly; refusals write nothing. */
    float flac_samples[8] = {0.5f, -0.25f, 1.0f, -1.0f, 0.3f, -1.5f, 1.5f, 0.0f};
    float flac16[8] = {0.5f, -0.25f, 32767.0f / 32768.0f, -1.0f,
                       9830.0f / 32768.0f, -1.0f, 32767.0f / 32768.0f, 0.0f};
    /* round(0.3f * 2^23): 0.3f is 10066330 / 2^25, so 2516582.5 -> 2516583. */
    float flac24[8] = {0.5f, -0.25f, 8388607.0f / 8388608.0f, -1.0f,
                       2516583.0f / 8388608.0f, -1.0f, 8388607.0f / 8388608.0f, 0.0f};
    amio_clip *pcm = NULL;
    CHECK(amio_clip_new_f32(96000, 2, flac_samples, 8, &pcm));
    char flac_path[512], other_path[512];
    snprintf(flac_path, sizeof flac_path, "%s/tools-16.flac", dir);
    CHECK(amio_clip_write_flac(pcm, flac_path, 16));
    amio_clip *flac = NULL;
    CHECK(amio_clip_new_file(flac_path, &flac));
    amio_clip_info fi;
    CHECK(amio_clip_get_info(flac, &fi));
    EXPECT(fi.frame_rate == 96000 && fi.channels == 2 && fi.frames == 4);
    float flac_back[8];
    uint64_t flac_frames = 0;
    CHECK(amio_clip_read(flac, 0, flac_back, 8, &flac_frames));
    EXPECT(flac_frames == 4 && memcmp(flac_back, flac16, sizeof flac_back) == 0);
    CHECK(amio_clip_free(flac));
    /* By extension, in any case: .FLAC is 24-bit FLAC. */
    snprintf(other_path, sizeof other_path, "%s/tools-24.FLAC", dir);
    CHECK(amio_clip_write_file(pcm, other_path));
    CHECK(amio_clip_new_file(other_path, &flac));
    CHECK(amio_clip_read(flac, 0, flac_back, 8, &flac_frames));
    EXPECT(flac_frames == 4 && memcmp(flac_back, flac24, sizeof flac_back) == 0);
    CHECK(amio_clip_free(flac));
    /* And .wav is 32-bit float WAV: exact. */
    snprintf(other_path, sizeof other_path, "%s/tools.wav", dir);
    CHECK(amio_clip_write_file(pcm, other_path));
    CHECK(amio_clip_new_file(other_path, &flac));
    CHECK(amio_clip_read(flac, 0, flac_back, 8, &flac_frames));
    EXPECT(memcmp(flac_back, flac_samples, sizeof flac_back) == 0);
    CHECK(amio_clip_free(flac));
    /* Refusals: the bit depth, the extension, the channel count; the
     * existing file is untouched and nothing else is written. */
    FAILS(amio_clip_write_flac(pcm, flac_path, 20), AMIO_ERROR_INVALID_ARGUMENT);
    EXPECT(strstr(amio_last_error(), "FLAC is written with 16 or 24 bits per sample, not 20") != NULL);
    snprintf(other_path, sizeof other_path, "%s/tools.mp3", dir);
    FAILS(amio_clip_write_file(pcm, other_path), AMIO_ERROR_FORMAT);
    EXPECT(strstr(amio_last_error(), "amio does not write .mp3 files") != NULL);
    EXPECT(access(other_path, F_OK) != 0);
    amio_clip *nine = NULL;
    CHECK(amio_clip_new_silence(48000, 9, 10, &nine));
    FAILS(amio_clip_write_flac(nine, flac_path, 24), AMIO_ERROR_FORMAT);
    EXPECT(strstr(amio_last_error(), "9 channels do not fit a FLAC file") != NULL);
    CHECK(amio_clip_new_file(flac_path, &flac));
    CHECK(amio_clip_read(flac, 0, flac_back, 8, &flac_frames));
    EXPECT(memcmp(flac_back, flac16, sizeof flac_back) == 0);
    CHECK(amio_clip_free(flac));
    CHECK(amio_clip_free(nine));
    /* Not audio, a truncated FLAC, a missing file, NULLs. */
    snprintf(other_path, sizeof other_path, "%s/tools.txt", dir);
    FILE *junk = fopen(other_path, "wb");
    EXPECT(junk != NULL && fputs("not audio", junk) >= 0 && fclose(junk) == 0);
    FAILS(amio_clip_new_file(other_path, &none), AMIO_ERROR_FORMAT);
    EXPECT(strstr(amio_last_error(), "not an audio file amio reads") != NULL);
    EXPECT(truncate(flac_path, 50) == 0);
    FAILS(amio_clip_new_file(flac_path, &none), AMIO_ERROR_FORMAT);
    EXPECT(strstr(amio_last_error(), "truncated") != NULL);
    snprintf(other_path, sizeof other_path, "%s/missing.flac", dir);
    FAILS(amio_clip_new_file(other_path, &none), AMIO_ERROR_IO);
    FAILS(amio_clip_new_file(NULL, &none), AMIO_ERROR_NULL_POINTER);
    FAILS(amio_clip_new_file(flac_path, NULL), AMIO_ERROR_NULL_POINTER);
    FAILS(amio_clip_write_file(NULL, flac_path), AMIO_ERROR_NULL_POINTER);
    FAILS(amio_clip_write_flac(pcm, NULL, 16), AMIO_ERROR_NULL_POINTER);
    EXPECT(none == NULL);
    CHECK(amio_clip_free(pcm));

    /* Offline meters: a full-scale 1 kHz sine at 48 kHz, 480-frame windows. */
    amio_clip *tone = NULL;
    CHECK(amio_clip_new_sine(48000, 2, 48000, 1000.0, 1.0f, &tone));
    uint64_t windows = 0;
    CHECK(amio_clip_meter(tone, AMIO_WINDOW_FRAMES, 480, NULL, 0, NULL, 0, &windows));
    EXPECT(windows == 100);
    static amio_level levels[100 * 2];
    uint64_t starts[100];
    CHECK(amio_clip_meter(tone, AMIO_WINDOW_FRAMES, 480, levels, 200, starts, 100, &windows));
    for (int w = 0; w < 200; w++) {
        EXPECT(levels[w].peak_db == 0.0f && fabsf(levels[w].rms_db + 3.0103f) < 1e-4f);
    }
    EXPECT(starts[99] == 99 * 480);
    FAILS(amio_clip_meter(tone, AMIO_WINDOW_FRAMES, 480, levels, 199, NULL, 0, &windows),
          AMIO_ERROR_BUFFER_SIZE);
    FAILS(amio_clip_meter(tone, 7, 480, NULL, 0, NULL, 0, &windows), AMIO_ERROR_INVALID_ARGUMENT);
    FAILS(amio_clip_meter(tone, AMIO_WINDOW_PER_SECOND, 0, NULL, 0, NULL, 0, &windows),
          AMIO_ERROR_INVALID_ARGUMENT);
    CHECK(amio_clip_meter(tone, AMIO_WINDOW_PER_SECOND, 24, NULL, 0, NULL, 0, &windows));
    EXPECT(windows == 24);
    amio_level quiet[2];
    CHECK(amio_clip_meter(silence, AMIO_WINDOW_FRAMES, 10, quiet, 2, NULL, 0, &windows));
    EXPECT(isinf(quiet[0].peak_db) && quiet[0].peak_db < 0 && isinf(quiet[1].rms_db));

    /* The fader. */
    float g[2];
    CHECK(amio_fader_gains(0.0, 0.5, AMIO_PAN_LINEAR, g));
    EXPECT(g[0] == 0.5f && g[1] == 1.5f);
    CHECK(amio_fader_gains(0.0, -1.0, AMIO_PAN_EQUAL_POWER, g));
    EXPECT(g[0] == (float)sqrt(2.0) && g[1] == 0.0f);
    FAILS(amio_fader_gains(0.0, 1.5, AMIO_PAN_LINEAR, g), AMIO_ERROR_INVALID_ARGUMENT);
    EXPECT(strstr(amio_last_error(), "pan: 1.5 is outside -1..1") != NULL);
    FAILS(amio_fader_gains(0.0, 0.0, 9, g), AMIO_ERROR_INVALID_ARGUMENT);
    FAILS(amio_fader_gains(0.0, 0.0, AMIO_PAN_LINEAR, NULL), AMIO_ERROR_NULL_POINTER);
    EXPECT(amio_db_to_amplitude(-20.0) == 0.1 || fabs(amio_db_to_amplitude(-20.0) - 0.1) < 1e-15);
    EXPECT(amio_amplitude_to_db(1.0) == 0.0 && isinf(amio_amplitude_to_db(0.0)));

    /* Live meters: play the tone and feed it back as input, stepped in
     * uneven periods, windows of 24 a second. */
    amio_playspec *ps = NULL;
    CHECK(amio_playspec_new(&ps));
    float gains[2] = {1.0f, 1.0f};
    amio_entry e = {tone, 0, AMIO_WHOLE_CLIP, 0, 0, gains, 2, 0, 0};
    uint64_t index = 0;
    CHECK(amio_playspec_add(ps, &e, &index));
    amio_stream_config cfg;
    CHECK(amio_stream_config_init(&cfg));
    cfg.frame_rate = 48000;
    cfg.period = 256;
    cfg.in_channels = 2;
    cfg.out_channels = 2;
    cfg.options = "mode=stepped";
    cfg.metering = AMIO_WINDOW_PER_SECOND;
    cfg.meter_window = 24;
    amio_stream *st = NULL;
    CHECK(amio_stream_open("null", &cfg, &st));
    amio_level in_levels[2], out_levels[2];
    FAILS(amio_stream_meter_levels(st, in_levels, 2, out_levels, 2), AMIO_ERROR_INVALID_ARGUMENT);
    uint64_t id = 0;
    CHECK(amio_stream_schedule(st, ps, 0, 0, 0, &id));
    CHECK(amio_transport_roll(st, 0));
    CHECK(amio_stream_start(st));
    static float tone_samples[48000 * 2], out[256 * 2];
    uint64_t got = 0;
    CHECK(amio_clip_read(tone, 0, tone_samples, 48000 * 2, &got));
    int sizes[] = {256, 100, 7, 256};
    for (int done = 0, k = 0; done < 48000; k++) {
        int n = sizes[k % 4];
        if (n > 48000 - done) {
            n = 48000 - done;
        }
        CHECK(amio_stream_step(st, (uint32_t)n, tone_samples + 2 * done, (size_t)n * 2, out,
                               (size_t)n * 2));
        done += n;
    }
    amio_level offline[24 * 2];
    uint64_t offline_starts[24];
    CHECK(amio_clip_meter(tone, AMIO_WINDOW_PER_SECOND, 24, offline, 48, offline_starts, 24,
                          &windows));
    int meters = 0;
    amio_event ev;
    bool more = true;
    while (more) {
        CHECK(amio_stream_poll_event(st, &ev, &more));
        if (!more || ev.kind != AMIO_EVENT_METER) {
            continue;
        }
        EXPECT(ev.stream_frame == offline_starts[meters] && ev.frames == 2000);
        CHECK(amio_stream_meter_levels(st, in_levels, 2, out_levels, 2));
        for (int c = 0; c < 2; c++) {
            EXPECT(memcmp(&in_levels[c], &offline[meters * 2 + c], sizeof(amio_level)) == 0);
            EXPECT(memcmp(&out_levels[c], &offline[meters * 2 + c], sizeof(amio_level)) == 0);
        }
        meters++;
    }
    EXPECT(meters == 24);
    FAILS(amio_stream_meter_levels(st, in_levels, 1, out_levels, 2), AMIO_ERROR_BUFFER_SIZE);
    FAILS(amio_stream_meter_levels(NULL, in_levels, 2, out_levels, 2), AMIO_ERROR_NULL_POINTER);
    CHECK(amio_stream_close(st));
    CHECK(amio_stream_free(st));

    cfg.metering = 9;
    FAILS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_INVALID_ARGUMENT);
    cfg.metering = AMIO_WINDOW_FRAMES;
    cfg.meter_window = 0;
    FAILS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_INVALID_ARGUMENT);

    CHECK(amio_playspec_free(ps));
    amio_clip *all[] = {sine, silence, joined, left, right, both, tone};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK(amio_clip_free(all[i]));
    }
    printf("tools: ok\n");
    return 0;
}
