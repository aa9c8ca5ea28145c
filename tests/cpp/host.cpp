// A C++ host using amio.hpp: RAII objects, exceptions for bad input, a
// render on the null backend stepped by hand checked sample by sample,
// clip files. argv[1]: a directory for scratch files.
#include <amio.hpp>

#include <cmath>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define EXPECT(cond)                                                          \
    do {                                                                      \
        if (!(cond)) {                                                        \
            std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            std::exit(1);                                                     \
        }                                                                     \
    } while (0)

int main(int argc, char **argv) {
    const std::string dir = argc > 1 ? argv[1] : "/tmp";
    std::vector<float> ramp(100);
    for (size_t i = 0; i < ramp.size(); i++) {
        ramp[i] = 0.01f * static_cast<float>(i);
    }
    amio::clip c = amio::clip::from_f32(48000, 1, ramp);
    EXPECT(c.info().frames == 100);
    amio::clip moved = std::move(c); // ownership moves; the old one is empty
    EXPECT(c.get() == nullptr && moved.get() != nullptr);

    amio::playspec p;
    EXPECT(p.add(amio::entry(moved, {0.5f, 1.0f}).range(10, 60).play_at(5)) == 0);
    EXPECT(p.add(amio::entry(moved, {0.25f, 0.25f}).repeat(40).fades(4, 4)) == 1);

    // A broken rule throws, naming the entry and the rule.
    try {
        p.add(amio::entry(moved, {1.0f, 1.0f}).range(50, 40));
        EXPECT(false);
    } catch (const amio::error &e) {
        EXPECT(e.status() == AMIO_ERROR_INVALID_ENTRY);
        EXPECT(e.entry() == 2u && e.rule() == AMIO_RULE_RANGE_REVERSED);
        EXPECT(std::string(e.what()).find("runs backwards") != std::string::npos);
    }
    // An unknown backend throws.
    try {
        amio::stream bad("no-such-backend", amio::stream::config());
        EXPECT(false);
    } catch (const amio::error &e) {
        EXPECT(e.status() == AMIO_ERROR_UNKNOWN_BACKEND);
    }
    // A driver's error says its kind by status: no such device.
    try {
        amio_stream_config missing = amio::stream::config();
        missing.device = "not-null";
        amio::stream bad("null", missing);
        EXPECT(false);
    } catch (const amio::error &e) {
        EXPECT(e.status() == AMIO_ERROR_NO_DEVICE);
    }

    amio_stream_config cfg = amio::stream::config();
    cfg.in_channels = 0;
    cfg.out_channels = 2;
    cfg.period = 32;
    cfg.options = "mode=stepped";
    amio::stream s("null", cfg);
    uint64_t id = s.schedule(p, 0, 0, 0);
    EXPECT(id == 1);
    s.roll(0);
    s.start();
    // Pausing the driver keeps the engine's state; a paused stepped stream
    // does not step.
    s.pause();
    std::vector<float> in, out(200 * 2);
    try {
        s.step(200, in, out);
        EXPECT(false);
    } catch (const amio::error &e) {
        EXPECT(e.status() == AMIO_ERROR_NOT_RUNNING);
    }
    s.start();
    s.step(200, in, out);

    // Expected: entry 0 plays ramp[10 + p - 5] for p in 5..55; entry 1 the
    // ramp looped every 40 frames with 4-frame fades.
    auto fade = [](long j) {
        double f = 1.0;
        if (j < 4) f *= (j + 0.5) / 4.0;
        if (j >= 96) f *= (100.0 - j - 0.5) / 4.0;
        return static_cast<float>(f);
    };
    const float g0[2] = {0.5f, 1.0f};
    for (long f = 0; f < 200; f++) {
        for (int o = 0; o < 2; o++) {
            float want = 0.0f;
            if (f >= 5 && f < 55) want += g0[o] * ramp[10 + f - 5];
            for (long k = -3; k <= 5; k++) {
                long j = f - 40 * k;
                if (j >= 0 && j < 100) want += (0.25f * fade(j)) * ramp[j];
            }
            if (want > 1.0f) want = 1.0f;
            float got = out[2 * f + o];
            if (got != want) {
                std::fprintf(stderr, "frame %ld channel %d: %g, expected %g\n", f, o, got, want);
                return 1;
            }
        }
    }
    bool applied = false;
    while (auto e = s.poll_event()) {
        applied |= e->kind == AMIO_EVENT_APPLIED && e->id == id;
    }
    EXPECT(applied);
    EXPECT(s.position().position == 200);
    s.close();
    try {
        s.roll();
        EXPECT(false);
    } catch (const amio::error &e) {
        EXPECT(e.status() == AMIO_ERROR_CLOSED);
    }

    // Clip tools, meters and the fader.
    auto tone = amio::clip::sine(48000, 1, 4800, 1000.0, 1.0f);
    auto quiet = amio::clip::silence(48000, 1, 4800);
    auto stereo = amio::clip::stereo(tone, quiet);
    auto joined = amio::clip::concat({&stereo, &stereo});
    EXPECT(joined.info().frames == 9600 && joined.info().channels == 2);
    EXPECT(joined.resize(100).info().frames == 100);
    EXPECT(joined.channel(1).info().channels == 1);
    EXPECT(stereo.overwrite(stereo, 4000, true).info().frames == 8800);
    auto levels = stereo.meter(AMIO_WINDOW_FRAMES, 480);
    EXPECT(levels.size() == 20);
    EXPECT(levels[0].peak_db == 0.0f && levels[0].rms_db < -3.0f && levels[0].rms_db > -3.02f);
    EXPECT(std::isinf(levels[1].peak_db) && levels[1].peak_db < 0);
    auto g = amio::fader_gains(0.0, -0.5);
    EXPECT(g[0] == 1.5f && g[1] == 0.5f);
    try {
        amio::fader_gains(0.0, -1.01);
        EXPECT(false);
    } catch (const amio::error &e) {
        EXPECT(e.status() == AMIO_ERROR_INVALID_ARGUMENT);
    }
    EXPECT(amio::amplitude_to_db(amio::db_to_amplitude(-6.0)) + 6.0 < 1e-12);

    // Clip files: FLAC at 16 bits (quantised), by extension, refusals.
    auto pcm = amio::clip::from_f32(44100, 1, {0.5f, -1.0f, 1.0f, 0.25f});
    pcm.write_flac(dir + "/host.flac", 16);
    auto flac = amio::clip::from_file(dir + "/host.flac");
    EXPECT(flac.info().frame_rate == 44100);
    EXPECT((flac.samples() == std::vector<float>{0.5f, -1.0f, 32767.0f / 32768.0f, 0.25f}));
    pcm.write_file(dir + "/host.wav");
    EXPECT(amio::clip::from_file(dir + "/host.wav").samples() == pcm.samples());
    // A streamed clip of the same file: its own id, the same samples.
    auto streamed = amio::clip::open_streamed(dir + "/host.wav");
    EXPECT(streamed.stream_id() != 0 && pcm.stream_id() == 0);
    EXPECT(streamed.info().frames == pcm.info().frames);
    EXPECT(streamed.samples() == pcm.samples());
    try {
        pcm.write_flac(dir + "/host.flac", 20);
        EXPECT(false);
    } catch (const amio::error &e) {
        EXPECT(e.status() == AMIO_ERROR_INVALID_ARGUMENT);
    }
    try {
        pcm.write_file(dir + "/host.ogg");
        EXPECT(false);
    } catch (const amio::error &e) {
        EXPECT(e.status() == AMIO_ERROR_FORMAT);
    }
    std::printf("cpp host: ok (libamio %s)\n", amio::version().c_str());
    return 0;
}
