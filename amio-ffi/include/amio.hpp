// amio.hpp: a header-only C++17 wrapper over amio.h with RAII ownership.
//
// Every object owns its handle and frees it when destroyed; objects move,
// never copy. A failing call throws amio::error, which carries the status
// and libamio's message (and, for playspec entries, the entry and rule).
//
//   amio::stream s("null", cfg);                 // opens
//   amio::clip c = amio::clip::from_file("take.flac");   // WAV, FLAC, AU
//   amio::playspec p;
//   p.add(amio::entry(c, {1.0f, 1.0f}).repeat(96000));
//   uint64_t id = s.schedule(p, 0, 0, 0);
//   s.roll(0); s.start();                        // transport, then driver
//   while (auto e = s.poll_event()) { ... }
//
// Thread rules are those of amio.h.

#ifndef AMIO_HPP
#define AMIO_HPP

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "amio.h"

namespace amio {

/// A failed libamio call. status() tells the failure's kind; a driver's
/// (AMIO_ERROR_NO_SERVER, AMIO_ERROR_NO_DEVICE, AMIO_ERROR_UNSUPPORTED, …)
/// too, so a host can tell "no server" from "unsupported configuration".
class error : public std::runtime_error {
public:
    error(amio_status status, const char *message)
        : std::runtime_error(message ? message : ""), status_(status) {
        uint64_t entry = 0;
        amio_entry_rule rule = 0;
        if (status == AMIO_ERROR_INVALID_ENTRY && amio_last_error_entry(&entry, &rule) == AMIO_OK) {
            entry_ = entry;
            rule_ = rule;
        }
    }
    /// The status libamio returned.
    amio_status status() const noexcept { return status_; }
    /// For AMIO_ERROR_INVALID_ENTRY: the entry's index.
    std::optional<uint64_t> entry() const noexcept { return entry_; }
    /// For AMIO_ERROR_INVALID_ENTRY: the rule (AMIO_RULE_*).
    amio_entry_rule rule() const noexcept { return rule_; }

private:
    amio_status status_;
    std::optional<uint64_t> entry_;
    amio_entry_rule rule_ = 0;
};

/// Throws amio::error unless `status` is AMIO_OK.
inline void check(amio_status status) {
    if (status != AMIO_OK) {
        throw error(status, amio_last_error());
    }
}

/// libamio's version string.
inline std::string version() { return amio_version(); }

namespace detail {
/// A move-only owner of a handle, freed with `Free`.
template <typename T, amio_status (*Free)(T *)>
class handle {
public:
    handle() noexcept = default;
    explicit handle(T *h) noexcept : h_(h) {}
    handle(const handle &) = delete;
    handle &operator=(const handle &) = delete;
    handle(handle &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    handle &operator=(handle &&o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~handle() { reset(); }
    T *get() const noexcept { return h_; }
    void reset() noexcept {
        if (h_) {
            Free(h_);
            h_ = nullptr;
        }
    }

private:
    T *h_ = nullptr;
};
} // namespace detail

/// The amplitude factor of `db` decibels.
inline double db_to_amplitude(double db) { return amio_db_to_amplitude(db); }
/// The decibels of an amplitude factor (0 gives -infinity).
inline double amplitude_to_db(double amplitude) { return amio_amplitude_to_db(amplitude); }
/// A fader's stereo gains {left, right}; a pan outside -1..1 throws.
inline std::array<float, 2> fader_gains(double volume_db, double pan, uint32_t law = AMIO_PAN_LINEAR) {
    std::array<float, 2> g{};
    check(amio_fader_gains(volume_db, pan, law, g.data()));
    return g;
}

/// Immutable audio.
class clip {
public:
    /// From interleaved float samples.
    static clip from_f32(uint32_t frame_rate, uint32_t channels, const std::vector<float> &samples) {
        amio_clip *h = nullptr;
        check(amio_clip_new_f32(frame_rate, channels, samples.data(), samples.size(), &h));
        return clip(h);
    }
    /// From interleaved 16-bit samples (divided by 32768).
    static clip from_i16(uint32_t frame_rate, uint32_t channels, const std::vector<int16_t> &samples) {
        amio_clip *h = nullptr;
        check(amio_clip_new_i16(frame_rate, channels, samples.data(), samples.size(), &h));
        return clip(h);
    }
    /// From a WAV file.
    static clip from_wav(const std::string &path) {
        amio_clip *h = nullptr;
        check(amio_clip_new_wav(path.c_str(), &h));
        return clip(h);
    }
    /// A WAV file whose samples stay on disk and are read as it plays
    /// (`amio_clip_open_streamed`): plays bit for bit as `from_wav`.
    static clip open_streamed(const std::string &path) {
        amio_clip *h = nullptr;
        check(amio_clip_open_streamed(path.c_str(), &h));
        return clip(h);
    }
    /// From an AU/SND file of 32-bit floats, either byte order.
    static clip from_au(const std::string &path) {
        amio_clip *h = nullptr;
        check(amio_clip_new_au(path.c_str(), &h));
        return clip(h);
    }
    /// From an audio file in any format amio reads (WAV, FLAC, AU/SND),
    /// chosen by extension or, failing that, by content.
    static clip from_file(const std::string &path) {
        amio_clip *h = nullptr;
        check(amio_clip_new_file(path.c_str(), &h));
        return clip(h);
    }
    /// `frames` frames of silence.
    static clip silence(uint32_t frame_rate, uint32_t channels, uint64_t frames) {
        amio_clip *h = nullptr;
        check(amio_clip_new_silence(frame_rate, channels, frames, &h));
        return clip(h);
    }
    /// A sine from phase 0, the same in every channel.
    static clip sine(uint32_t frame_rate, uint32_t channels, uint64_t frames, double frequency, float amplitude) {
        amio_clip *h = nullptr;
        check(amio_clip_new_sine(frame_rate, channels, frames, frequency, amplitude, &h));
        return clip(h);
    }
    /// The clips one after another (same frame rate and channels).
    static clip concat(const std::vector<const clip *> &clips) {
        std::vector<const amio_clip *> handles;
        for (const clip *c : clips) {
            handles.push_back(c->get());
        }
        amio_clip *h = nullptr;
        check(amio_clip_concat(handles.data(), handles.size(), &h));
        return clip(h);
    }
    /// Two mono clips as one stereo clip.
    static clip stereo(const clip &left, const clip &right) {
        amio_clip *h = nullptr;
        check(amio_clip_stereo(left.get(), right.get(), &h));
        return clip(h);
    }
    /// A copy with the frames from `at` on replaced by `other`'s.
    clip overwrite(const clip &other, int64_t at, bool extend) const {
        amio_clip *h = nullptr;
        check(amio_clip_overwrite(get(), other.get(), at, extend, &h));
        return clip(h);
    }
    /// A copy cut or padded with silence to `frames` frames.
    clip resize(uint64_t frames) const {
        amio_clip *h = nullptr;
        check(amio_clip_resize(get(), frames, &h));
        return clip(h);
    }
    /// One channel as a mono clip.
    clip channel(uint32_t channel) const {
        amio_clip *h = nullptr;
        check(amio_clip_channel(get(), channel, &h));
        return clip(h);
    }
    /// Peak and RMS per channel over windows (`AMIO_WINDOW_FRAMES` or
    /// `AMIO_WINDOW_PER_SECOND`): window by window, one level per channel.
    std::vector<amio_level> meter(uint32_t window_kind, uint64_t window) const {
        uint64_t windows = 0;
        check(amio_clip_meter(get(), window_kind, window, nullptr, 0, nullptr, 0, &windows));
        std::vector<amio_level> levels(static_cast<size_t>(windows) * info().channels);
        check(amio_clip_meter(get(), window_kind, window, levels.data(), levels.size(), nullptr, 0, &windows));
        return levels;
    }
    /// A new clip at another frame rate.
    clip resample(uint32_t frame_rate) const {
        amio_clip *h = nullptr;
        check(amio_clip_resample(get(), frame_rate, &h));
        return clip(h);
    }
    /// Writes a 32-bit float WAV file.
    void write_wav(const std::string &path) const { check(amio_clip_write_wav(get(), path.c_str())); }
    /// Writes a FLAC file of 16 or 24 bits per sample (clamped to full scale).
    void write_flac(const std::string &path, uint32_t bits) const {
        check(amio_clip_write_flac(get(), path.c_str(), bits));
    }
    /// Writes by extension: `.wav` 32-bit float WAV, `.flac` 24-bit FLAC.
    void write_file(const std::string &path) const { check(amio_clip_write_file(get(), path.c_str())); }
    /// The id of a streamed clip's file, as `AMIO_EVENT_DATA_MISSING`
    /// names it; 0 for a clip in memory.
    uint64_t stream_id() const {
        uint64_t id = 0;
        check(amio_clip_stream_id(get(), &id));
        return id;
    }
    /// Frame rate, channels, frames.
    amio_clip_info info() const {
        amio_clip_info i{};
        check(amio_clip_get_info(get(), &i));
        return i;
    }
    /// All samples, interleaved.
    std::vector<float> samples() const {
        amio_clip_info i = info();
        std::vector<float> out(static_cast<size_t>(i.frames) * i.channels);
        uint64_t frames = 0;
        check(amio_clip_read(get(), 0, out.data(), out.size(), &frames));
        return out;
    }
    /// The C handle (still owned by this object).
    const amio_clip *get() const noexcept { return h_.get(); }

private:
    explicit clip(amio_clip *h) : h_(h) {}
    detail::handle<amio_clip, amio_clip_free> h_;
};

/// One playspec entry, built fluently.
class entry {
public:
    entry(const clip &c, std::vector<float> gains) : gains_(std::move(gains)) {
        e_.clip = c.get();
        e_.range_start = 0;
        e_.range_end = AMIO_WHOLE_CLIP;
        e_.play_at = 0;
        e_.repeat = 0;
        e_.fade_in = 0;
        e_.fade_out = 0;
    }
    entry &range(uint64_t start, uint64_t end) { e_.range_start = start; e_.range_end = end; return *this; }
    entry &play_at(int64_t position) { e_.play_at = position; return *this; }
    entry &repeat(int64_t period) { e_.repeat = period; return *this; }
    entry &fades(uint64_t in, uint64_t out) { e_.fade_in = in; e_.fade_out = out; return *this; }
    /// The C struct (valid while this entry lives).
    amio_entry c() const {
        amio_entry e = e_;
        e.gains = gains_.data();
        e.gain_count = gains_.size();
        return e;
    }

private:
    amio_entry e_{};
    std::vector<float> gains_;
};

/// An arrangement of entries.
class playspec {
public:
    playspec() {
        amio_playspec *h = nullptr;
        check(amio_playspec_new(&h));
        h_ = decltype(h_)(h);
    }
    /// Adds an entry; returns its index. Throws on a broken rule.
    uint64_t add(const entry &e) {
        amio_entry c = e.c();
        uint64_t index = 0;
        check(amio_playspec_add(h_.get(), &c, &index));
        return index;
    }
    /// Number of entries.
    uint64_t size() const {
        uint64_t n = 0;
        check(amio_playspec_entry_count(h_.get(), &n));
        return n;
    }
    const amio_playspec *get() const noexcept { return h_.get(); }

private:
    detail::handle<amio_playspec, amio_playspec_free> h_;
};

/// A backend running amio's engine.
class stream {
public:
    /// Default configuration (2 in, 2 out, the backend's rate and period).
    static amio_stream_config config() {
        amio_stream_config c{};
        check(amio_stream_config_init(&c));
        return c;
    }
    stream(const std::string &backend, const amio_stream_config &c) {
        amio_stream *h = nullptr;
        check(amio_stream_open(backend.c_str(), &c, &h));
        h_ = decltype(h_)(h);
    }
    amio_stream_info info() const {
        amio_stream_info i{};
        check(amio_stream_get_info(h_.get(), &i));
        return i;
    }
    /// Starts (or restarts) the driver.
    void start() { check(amio_stream_start(h_.get())); }
    /// Pauses the driver (not the transport: see stop_transport); start()
    /// resumes.
    void pause() { check(amio_stream_pause(h_.get())); }
    /// The older name of pause(): stops the driver, not the transport.
    void stop() { check(amio_stream_stop(h_.get())); }
    /// Stops the driver for good; events and input stay readable.
    void close() { check(amio_stream_close(h_.get())); }
    /// Schedules a change; `at` is a stream frame or AMIO_NOW. Returns its id.
    uint64_t schedule(const playspec &p, int64_t insert_at, int64_t start_from, uint64_t at = AMIO_NOW) {
        uint64_t id = 0;
        check(amio_stream_schedule(h_.get(), p.get(), insert_at, start_from, at, &id));
        return id;
    }
    /// Starts the transport at stream frame `at`.
    void roll(uint64_t at = AMIO_NOW) { check(amio_transport_roll(h_.get(), at)); }
    /// Stops the transport at stream frame `at` (the driver keeps running,
    /// silent).
    void stop_transport(uint64_t at = AMIO_NOW) { check(amio_transport_stop(h_.get(), at)); }
    void locate(int64_t position, uint64_t at = AMIO_NOW) { check(amio_transport_locate(h_.get(), position, at)); }
    amio_position position() const {
        amio_position p{};
        check(amio_stream_get_position(h_.get(), &p));
        return p;
    }
    /// The next event, if any.
    std::optional<amio_event> poll_event() {
        amio_event e{};
        bool got = false;
        check(amio_stream_poll_event(h_.get(), &e, &got));
        if (!got) {
            return std::nullopt;
        }
        return e;
    }
    /// The levels of the last `AMIO_EVENT_METER` polled: input, then output.
    std::pair<std::vector<amio_level>, std::vector<amio_level>> meter_levels() {
        amio_stream_info i = info();
        std::vector<amio_level> in(i.in_channels), out(i.out_channels);
        check(amio_stream_meter_levels(h_.get(), in.data(), in.size(), out.data(), out.size()));
        return {in, out};
    }
    /// Reads captured input into `buffer` (whole frames); the chunk read, if any.
    std::optional<amio_chunk_info> read_input(std::vector<float> &buffer) {
        amio_chunk_info i{};
        bool got = false;
        check(amio_stream_read_input(h_.get(), buffer.data(), buffer.size(), &i, &got));
        if (!got) {
            return std::nullopt;
        }
        return i;
    }
    /// null backend, stepped: one period of `frames` frames.
    void step(uint32_t frames, const std::vector<float> &input, std::vector<float> &output) {
        check(amio_stream_step(h_.get(), frames, input.data(), input.size(), output.data(), output.size()));
    }
    amio_stream *get() const noexcept { return h_.get(); }

private:
    detail::handle<amio_stream, amio_stream_free> h_;
};

} // namespace amio

#endif // AMIO_HPP
