/*
 * The plainest mixing loop for BENCHMARK.md's W(N, P): per period, clear
 * the output, multiply-add every entry's clip frames at its position,
 * clamp to [-1, 1], hand the period to a callback. Stereo clips, stereo
 * output, interleaved f32 samples (what amio's Clip::samples() holds).
 *
 * Built by build.rs at -O3 -march=native -ffp-contract=off: each output
 * sample is ((0 + s0*g0) + s1*g1) + ..., a multiply then an add in entry
 * order, as amio sums, so the two produce the same checksum.
 */
#include <stddef.h>
#include <stdint.h>

/* One entry: an interleaved stereo clip of `frames` frames (at least 1),
 * repeating every `frames` frames from stream frame 0, and its gains. */
struct amio_benchref_entry {
    const float *samples;
    size_t frames;
    float gain_left;
    float gain_right;
};

/* Receives each mixed period: `frames` interleaved stereo frames. A
 * nonzero return stops the mix after this period. */
typedef int (*amio_benchref_period_fn)(void *user, const float *out, size_t frames);

/* dst[2k] += src[2k] * gl, dst[2k+1] += src[2k+1] * gr for k < frames. */
static void mix_run(float *restrict dst, const float *restrict src, size_t frames,
                    float gl, float gr)
{
    for (size_t k = 0; k < frames; k++) {
        dst[2 * k] += src[2 * k] * gl;
        dst[2 * k + 1] += src[2 * k + 1] * gr;
    }
}

/* Mixes stream frames start .. start + frames of the entries in periods of
 * `period` frames (the last may be shorter) into `out` (2 * period floats)
 * and calls `each` after every period. Returns the frames mixed. */
uint64_t amio_benchref_mix(const struct amio_benchref_entry *entries, size_t n_entries,
                           uint64_t start, uint64_t frames, size_t period,
                           float *restrict out, amio_benchref_period_fn each, void *user)
{
    uint64_t done = 0;
    while (done < frames) {
        size_t len = frames - done < period ? (size_t)(frames - done) : period;
        for (size_t j = 0; j < 2 * len; j++)
            out[j] = 0.0f;
        for (size_t e = 0; e < n_entries; e++) {
            const struct amio_benchref_entry *entry = &entries[e];
            size_t pos = (size_t)((start + done) % entry->frames);
            size_t f = 0;
            /* Split where the period wraps past the clip's end. */
            while (f < len) {
                size_t run = entry->frames - pos;
                if (run > len - f)
                    run = len - f;
                mix_run(out + 2 * f, entry->samples + 2 * pos, run, entry->gain_left,
                        entry->gain_right);
                f += run;
                pos = 0;
            }
        }
        for (size_t j = 0; j < 2 * len; j++) {
            float x = out[j];
            out[j] = x < -1.0f ? -1.0f : (x > 1.0f ? 1.0f : x);
        }
        done += len;
        if (each(user, out, len))
            break;
    }
    return done;
}
