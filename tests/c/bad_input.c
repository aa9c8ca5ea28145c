/* A C host that feeds libamio every kind of bad input and checks the
 * documented status and a readable message for each; nothing may crash.
 * Run under valgrind by the test suite. argv[1] names a backend whose
 * plugin has the wrong ABI version. */
#include <amio.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Status values are fixed and never reused: a host compiled against an
 * older header keeps its meaning. */
_Static_assert(AMIO_OK == 0 && AMIO_ERROR_NULL_POINTER == 1 && AMIO_ERROR_INVALID_HANDLE == 2, "status values");
_Static_assert(AMIO_ERROR_DRIVER == 14 && AMIO_ERROR_CONFIG == 16 && AMIO_ERROR_IN_CALLBACK == 19, "status values");
_Static_assert(AMIO_ERROR_NO_SERVER == 20 && AMIO_ERROR_NO_DEVICE == 21 && AMIO_ERROR_DEVICE_BUSY == 22,
               "driver status values");
_Static_assert(AMIO_ERROR_UNSUPPORTED == 23 && AMIO_ERROR_LIBRARY_MISSING == 24 &&
                   AMIO_ERROR_PERMISSION_DENIED == 25,
               "driver status values");

static int failures = 0;

static void expect_status(const char *what, amio_status got, amio_status want, const char *needle) {
    const char *msg = amio_last_error();
    if (got != want) {
        fprintf(stderr, "%s: got %s, expected %s (%s)\n", what, amio_status_name(got), amio_status_name(want), msg);
        failures++;
        return;
    }
    if (want != AMIO_OK && (msg == NULL || strlen(msg) == 0 || (needle && !strstr(msg, needle)))) {
        fprintf(stderr, "%s: message %s lacks \"%s\"\n", what, msg ? msg : "(null)", needle ? needle : "");
        failures++;
    }
}

#define EXPECT(cond)                                                             \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);  \
            failures++;                                                          \
        }                                                                        \
    } while (0)
#define EXPECT_STATUS(call, want, needle) expect_status(#call, (call), (want), (needle))
#define CHECK(call) expect_status(#call, (call), AMIO_OK, NULL)

int main(int argc, char **argv) {
    const char *bad_backend = argc > 1 ? argv[1] : "badabi";
    float samples[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
    amio_clip *clip = NULL;
    amio_playspec *ps = NULL;
    amio_stream *st = NULL;
    uint64_t u64 = 0;
    bool got = false;
    amio_event ev;

    /* Null pointers. */
    EXPECT_STATUS(amio_clip_new_f32(48000, 2, samples, 8, NULL), AMIO_ERROR_NULL_POINTER, "clip_out is NULL");
    EXPECT_STATUS(amio_clip_new_f32(48000, 2, NULL, 8, &clip), AMIO_ERROR_NULL_POINTER, "samples is NULL");
    EXPECT_STATUS(amio_clip_new_wav(NULL, &clip), AMIO_ERROR_NULL_POINTER, "path is NULL");
    EXPECT_STATUS(amio_clip_get_info(NULL, NULL), AMIO_ERROR_NULL_POINTER, NULL);
    EXPECT_STATUS(amio_playspec_new(NULL), AMIO_ERROR_NULL_POINTER, "playspec_out");
    EXPECT_STATUS(amio_stream_open(NULL, NULL, &st), AMIO_ERROR_NULL_POINTER, "backend is NULL");
    EXPECT_STATUS(amio_stream_open("null", NULL, NULL), AMIO_ERROR_NULL_POINTER, "stream_out");
    EXPECT_STATUS(amio_stream_poll_event(NULL, &ev, &got), AMIO_ERROR_NULL_POINTER, "stream is NULL");
    EXPECT_STATUS(amio_backends(NULL, NULL), AMIO_ERROR_NULL_POINTER, "callback");
    EXPECT_STATUS(amio_stream_config_init(NULL), AMIO_ERROR_NULL_POINTER, "config");
    EXPECT(amio_last_error_entry(NULL, NULL) == AMIO_ERROR_INVALID_ARGUMENT);
    /* Freeing NULL does nothing. */
    CHECK(amio_clip_free(NULL));
    CHECK(amio_playspec_free(NULL));
    CHECK(amio_stream_free(NULL));

    /* Out-of-range values and bad clip data. */
    EXPECT_STATUS(amio_clip_new_f32(0, 2, samples, 8, &clip), AMIO_ERROR_INVALID_ARGUMENT, "frame_rate is 0");
    EXPECT_STATUS(amio_clip_new_f32(48000, 0, samples, 8, &clip), AMIO_ERROR_INVALID_ARGUMENT, "channels is 0");
    EXPECT_STATUS(amio_clip_new_f32(48000, 3, samples, 8, &clip), AMIO_ERROR_INVALID_CLIP, "whole frames");
    float nan_samples[2] = {0.0f, NAN};
    EXPECT_STATUS(amio_clip_new_f32(48000, 1, nan_samples, 2, &clip), AMIO_ERROR_INVALID_CLIP, "frame 1, channel 0");
    EXPECT_STATUS(amio_clip_new_wav("/nonexistent/take.wav", &clip), AMIO_ERROR_IO, "/nonexistent/take.wav");
    char not_wav[] = "/tmp/amio-not-a-wav-XXXXXX";
    int fd = mkstemp(not_wav);
    EXPECT(fd >= 0 && write(fd, "hello, not a wav", 16) == 16);
    close(fd);
    EXPECT_STATUS(amio_clip_new_wav(not_wav, &clip), AMIO_ERROR_FORMAT, not_wav);
    unlink(not_wav);
    EXPECT(clip == NULL); /* outputs are written only on success */

    CHECK(amio_clip_new_f32(48000, 2, samples, 8, &clip));
    CHECK(amio_playspec_new(&ps));

    /* Entries that break each rule: refused, naming entry and rule. */
    float gains[2] = {1.0f, 1.0f}, bad_gains[2] = {1.0f, INFINITY};
    amio_entry good = {clip, 0, AMIO_WHOLE_CLIP, 0, 0, gains, 2, 0, 0};
    CHECK(amio_playspec_add(ps, &good, &u64));
    struct {
        amio_entry e;
        amio_entry_rule rule;
        const char *needle;
    } broken[] = {
        {{clip, 3, 2, 0, 0, gains, 2, 0, 0}, AMIO_RULE_RANGE_REVERSED, "playspec entry 1: range 3..2 runs backwards"},
        {{clip, 0, 5, 0, 0, gains, 2, 0, 0}, AMIO_RULE_RANGE_PAST_CLIP, "past the clip's 4 frames"},
        {{clip, 0, 4, 0, -1, gains, 2, 0, 0}, AMIO_RULE_NEGATIVE_REPEAT, "repeat -1 is negative"},
        {{clip, 0, 4, 0, 0, bad_gains, 2, 0, 0}, AMIO_RULE_GAIN_NOT_FINITE, "gain 1 is inf"},
        {{clip, 0, 4, 0, 0, gains, 2, 3, 2}, AMIO_RULE_FADES_TOO_LONG, "fade_in 3 + fade_out 2"},
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        EXPECT_STATUS(amio_playspec_add(ps, &broken[i].e, &u64), AMIO_ERROR_INVALID_ENTRY, broken[i].needle);
        uint64_t entry = 99;
        amio_entry_rule rule = 0;
        CHECK(amio_last_error_entry(&entry, &rule));
        if (entry != 1 || rule != broken[i].rule) {
            fprintf(stderr, "broken entry %zu: entry %llu rule %u\n", i, (unsigned long long)entry, rule);
            failures++;
        }
    }
    CHECK(amio_playspec_entry_count(ps, &u64));
    EXPECT(u64 == 1); /* nothing broken was added */
    amio_entry null_gains = {clip, 0, 4, 0, 0, NULL, 2, 0, 0};
    EXPECT_STATUS(amio_playspec_add(ps, &null_gains, NULL), AMIO_ERROR_NULL_POINTER, "entry->gains is NULL");

    /* Unknown and wrong-kind handles. */
    amio_clip *forged = (amio_clip *)(uintptr_t)0xdeadbeef;
    amio_clip_info ci;
    EXPECT_STATUS(amio_clip_get_info(forged, &ci), AMIO_ERROR_INVALID_HANDLE, "not a live handle");
    EXPECT_STATUS(amio_clip_get_info((const amio_clip *)ps, &ci), AMIO_ERROR_INVALID_HANDLE, "is a playspec, not a clip");
    amio_entry forged_entry = {forged, 0, 4, 0, 0, gains, 2, 0, 0};
    EXPECT_STATUS(amio_playspec_add(ps, &forged_entry, NULL), AMIO_ERROR_INVALID_HANDLE, "entry->clip");

    /* Config problems, unknown backends, wrong-ABI plugins. */
    amio_stream_config cfg;
    CHECK(amio_stream_config_init(&cfg));
    cfg.struct_size = 12;
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_INVALID_ARGUMENT, "struct_size is 12");
    CHECK(amio_stream_config_init(&cfg));
    cfg.clamp = 7;
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_INVALID_ARGUMENT, "clamp is 7");
    CHECK(amio_stream_config_init(&cfg));
    cfg.options = "mode=sideways";
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "stepped, paced");
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "configuration: mode (options line 1)");
    cfg.options = "colour=blue";
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "\"colour\" is not an option");
    /* A bad value names its option, its line and the rule. */
    cfg.options = "mode=paced\nframes=lots";
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG,
                  "configuration: frames (options line 2) is \"lots\", not a whole number");
    cfg.options = "loopback=sometimes";
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG,
                  "configuration: loopback (options line 1) is \"sometimes\", not true or false");
    cfg.options = "mode";
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "is not key=value");
    /* A driver's error kind is its status: the null backend has one
     * device, "null". */
    cfg.options = NULL;
    cfg.device = "not-null";
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_NO_DEVICE, "null: ");
    cfg.device = NULL;
    cfg.options = NULL;
    EXPECT_STATUS(amio_stream_open("nope", &cfg, &st), AMIO_ERROR_UNKNOWN_BACKEND, "no backend \"nope\"");
    EXPECT_STATUS(amio_stream_open(bad_backend, &cfg, &st), AMIO_ERROR_PLUGIN, "plugin ABI version 999");
    EXPECT(st == NULL);

    /* Sizes of a valid type beyond amio's limits: a status naming the
     * field and the limit, never an abort. */
    CHECK(amio_stream_config_init(&cfg));
    cfg.in_channels = UINT32_MAX;
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "in_channels is 4294967295, above amio's limit of 1024");
    CHECK(amio_stream_config_init(&cfg));
    cfg.out_channels = 1025;
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "out_channels is 1025");
    CHECK(amio_stream_config_init(&cfg));
    cfg.period = UINT32_MAX;
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "period is 4294967295, above amio's limit of 65536");
    CHECK(amio_stream_config_init(&cfg));
    cfg.frame_rate = UINT32_MAX;
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "frame_rate is 4294967295");
    CHECK(amio_stream_config_init(&cfg));
    cfg.command_capacity = UINT32_MAX;
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "command_capacity is 4294967295");
    CHECK(amio_stream_config_init(&cfg));
    cfg.max_latency = UINT64_MAX;
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "max_latency is 18446744073709551615");
    CHECK(amio_stream_config_init(&cfg));
    cfg.input_buffer_frames = UINT32_MAX;
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "input_buffer_frames is 4294967295 frames of 2 channels");
    CHECK(amio_stream_config_init(&cfg));
    cfg.options = "capture_latency=18446744073709551615";
    EXPECT_STATUS(amio_stream_open("null", &cfg, &st), AMIO_ERROR_CONFIG, "capture_latency is 18446744073709551615");
    CHECK(amio_stream_config_init(&cfg));
    cfg.options = NULL;

    /* A stream: wrong sizes, wrong modes, gain count. */
    cfg.in_channels = 1;
    cfg.out_channels = 2;
    cfg.period = 16;
    CHECK(amio_stream_open("null", &cfg, &st));
    float in[16] = {0}, out[32];
    EXPECT_STATUS(amio_stream_step(st, 16, in, 16, out, 32), AMIO_ERROR_NOT_RUNNING, "not running");
    CHECK(amio_stream_start(st));
    EXPECT_STATUS(amio_stream_start(st), AMIO_ERROR_ALREADY_RUNNING, NULL);
    EXPECT_STATUS(amio_stream_step(st, 16, in, 15, out, 32), AMIO_ERROR_BUFFER_SIZE, "input: expected 16 samples, got 15");
    EXPECT_STATUS(amio_stream_step(st, 16, in, 16, out, 31), AMIO_ERROR_BUFFER_SIZE, "output: expected 32 samples, got 31");
    EXPECT_STATUS(amio_stream_step(st, 16, NULL, 16, out, 32), AMIO_ERROR_NULL_POINTER, "input is NULL");
    CHECK(amio_stream_step(st, 16, in, 16, out, 32));
    bool finished = false;
    CHECK(amio_stream_wait(st, 1, &finished));
    EXPECT(!finished); /* stepped streams never finish by themselves */
    float tiny[1];
    amio_chunk_info chunk;
    CHECK(amio_stream_read_input(st, tiny, 1, &chunk, &got));
    EXPECT_STATUS(amio_stream_read_input(st, tiny, 0, &chunk, &got), AMIO_ERROR_BUFFER_SIZE, "holds no whole frame");

    amio_playspec *mono_ps = NULL;
    CHECK(amio_playspec_new(&mono_ps));
    float one_gain = 1.0f;
    amio_entry mono_entry = {clip, 0, AMIO_WHOLE_CLIP, 0, 0, &one_gain, 1, 0, 0};
    CHECK(amio_playspec_add(mono_ps, &mono_entry, NULL));
    EXPECT_STATUS(amio_stream_schedule(st, mono_ps, 0, 0, AMIO_NOW, &u64), AMIO_ERROR_INVALID_ENTRY, "1 gains for 2 output channels");
    EXPECT_STATUS(amio_stream_schedule(st, mono_ps, 0, 0, AMIO_NOW, NULL), AMIO_ERROR_NULL_POINTER, "id_out");
    CHECK(amio_stream_schedule(st, ps, 0, 0, AMIO_NOW, &u64));
    EXPECT(u64 == 1);

    /* Close: commands refused, events still readable. */
    CHECK(amio_stream_close(st));
    CHECK(amio_stream_close(st));
    EXPECT_STATUS(amio_transport_roll(st, AMIO_NOW), AMIO_ERROR_CLOSED, "closed");
    EXPECT_STATUS(amio_stream_schedule(st, ps, 0, 0, AMIO_NOW, &u64), AMIO_ERROR_CLOSED, "closed");
    bool dropped = false;
    do {
        CHECK(amio_stream_poll_event(st, &ev, &got));
        dropped |= got && ev.kind == AMIO_EVENT_DROPPED && ev.id == 1;
    } while (got);
    EXPECT(dropped);

    /* Use after free and double free. */
    CHECK(amio_stream_free(st));
    EXPECT_STATUS(amio_stream_free(st), AMIO_ERROR_INVALID_HANDLE, "already freed");
    EXPECT_STATUS(amio_stream_poll_event(st, &ev, &got), AMIO_ERROR_INVALID_HANDLE, "not a live handle");
    EXPECT_STATUS(amio_transport_locate(st, 0, AMIO_NOW), AMIO_ERROR_INVALID_HANDLE, NULL);
    CHECK(amio_playspec_free(ps));
    CHECK(amio_playspec_free(mono_ps));
    EXPECT_STATUS(amio_playspec_add(ps, &good, NULL), AMIO_ERROR_INVALID_HANDLE, NULL);
    CHECK(amio_clip_free(clip));
    EXPECT_STATUS(amio_clip_free(clip), AMIO_ERROR_INVALID_HANDLE, NULL);
    EXPECT_STATUS(amio_clip_write_wav(clip, "/tmp/x.wav"), AMIO_ERROR_INVALID_HANDLE, NULL);

    /* Status names are fixed. */
    EXPECT(strcmp(amio_status_name(AMIO_ERROR_PLUGIN), "AMIO_ERROR_PLUGIN") == 0);
    EXPECT(strcmp(amio_status_name(AMIO_ERROR_NO_SERVER), "AMIO_ERROR_NO_SERVER") == 0);
    EXPECT(strcmp(amio_status_name(AMIO_ERROR_PERMISSION_DENIED), "AMIO_ERROR_PERMISSION_DENIED") == 0);
    EXPECT(strcmp(amio_status_name(26), "AMIO_UNKNOWN_STATUS") == 0);
    EXPECT(strcmp(amio_status_name(12345), "AMIO_UNKNOWN_STATUS") == 0);

    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("bad_input: every bad call got its status\n");
    return 0;
}
