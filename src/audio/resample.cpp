// Sample-rate conversion (libsamplerate) and the channel-count policy for model inputs.
#include <samplerate.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "unmix/audio.h"
#include "unmix/error.h"

namespace unmix {
namespace {

void check_buffer(const char* where, const Audio& audio) {
  if (audio.channels < 1) fail(where, "audio has no channels");
  if (audio.frames < 0) fail(where, "audio has a negative frame count");
  const auto expected = static_cast<std::size_t>(audio.channels) * static_cast<std::size_t>(audio.frames);
  if (audio.samples.size() != expected)
    fail(where, "audio buffer holds " + std::to_string(audio.samples.size()) + " samples, expected " +
                    std::to_string(expected));
}

int converter_for(ResampleQuality q) {
  switch (q) {
    case ResampleQuality::Best: return SRC_SINC_BEST_QUALITY;
    case ResampleQuality::Medium: return SRC_SINC_MEDIUM_QUALITY;
    case ResampleQuality::Fastest: return SRC_SINC_FASTEST;
  }
  return SRC_SINC_BEST_QUALITY;
}

struct SrcDeleter {
  void operator()(SRC_STATE* s) const { src_delete(s); }
};

// Converts one channel into exactly out.size() frames. libsamplerate's sinc converters are
// time-aligned (output frame k sits at input time k / ratio) but hold output back until they have
// seen the filter's look-ahead; past the end of the input we feed silence, which is the usual
// zero extension, until every output frame has been produced.
void convert_channel(int converter, double ratio, const float* in, long in_frames, std::vector<float>& out) {
  int err = 0;
  std::unique_ptr<SRC_STATE, SrcDeleter> state(src_new(converter, 1, &err));
  if (!state) fail("resample", std::string("libsamplerate: ") + src_strerror(err));
  static constexpr long kSilence = 4096;
  static const std::vector<float> silence(kSilence, 0.0f);
  const long out_frames = static_cast<long>(out.size());
  long used = 0, made = 0, silent_blocks = 0;
  while (made < out_frames) {
    const bool in_input = used < in_frames;
    // Even at ratio 1/256 the best sinc filter looks ahead ~40k input frames (about 10 blocks), so
    // 64 silent blocks without finishing means the converter is stuck.
    if (!in_input && ++silent_blocks > 64) fail("resample", "libsamplerate stopped producing output");
    SRC_DATA d{};
    d.data_in = in_input ? in + used : silence.data();
    d.input_frames = in_input ? in_frames - used : kSilence;
    d.data_out = out.data() + made;
    d.output_frames = out_frames - made;
    d.end_of_input = 0;
    d.src_ratio = ratio;
    if (int rc = src_process(state.get(), &d); rc != 0) fail("resample", std::string("libsamplerate: ") + src_strerror(rc));
    if (in_input) used += d.input_frames_used;
    made += d.output_frames_gen;
  }
}

}  // namespace

Audio resample(const Audio& audio, int target_rate, ResampleQuality quality) {
  check_buffer("resample", audio);
  if (audio.sample_rate < 1) fail("resample", "source sample rate " + std::to_string(audio.sample_rate) + " is invalid");
  if (target_rate < 1) fail("resample", "target sample rate " + std::to_string(target_rate) + " is invalid");
  if (target_rate == audio.sample_rate) return audio;
  const double ratio = static_cast<double>(target_rate) / audio.sample_rate;
  if (!src_is_valid_ratio(ratio))
    fail("resample", "ratio " + std::to_string(audio.sample_rate) + " -> " + std::to_string(target_rate) +
                         " is outside libsamplerate's range (1/256 .. 256)");

  Audio out;
  out.sample_rate = target_rate;
  out.channels = audio.channels;
  // Output length is round(frames * target / source), computed in integers (halves round up) so it
  // is exact and independent of floating-point rounding.
  out.frames = (audio.frames * target_rate + audio.sample_rate / 2) / audio.sample_rate;
  const auto out_frames = static_cast<std::size_t>(out.frames);
  out.samples.resize(static_cast<std::size_t>(out.channels) * out_frames);
  if (out.frames == 0) return out;

  std::vector<float> buf(out_frames);
  for (int c = 0; c < audio.channels; ++c) {
    convert_channel(converter_for(quality), ratio, audio.channel(c), static_cast<long>(audio.frames), buf);
    std::copy(buf.begin(), buf.end(), out.channel(c));
  }
  return out;
}

struct StreamResampler::Impl {
  int channels = 0;
  double ratio = 1;
  std::vector<std::unique_ptr<SRC_STATE, SrcDeleter>> states;  // one per channel, as resample() does
  std::vector<std::vector<float>> out;  // per channel, unconsumed output from `head`
  std::int64_t head = 0;                // first unconsumed frame of each `out`
  std::int64_t produced = 0;
  std::int64_t limit = -1;              // set by finish()

  std::int64_t pending() const { return static_cast<std::int64_t>(out[0].size()) - head; }

  // Runs every channel's converter on `frames` frames (nullptr: silence) and appends the output.
  void run(const float* planar, std::int64_t frames, std::int64_t stride) {
    static constexpr long kSilence = 4096;
    static const std::vector<float> silence(kSilence, 0.0f);
    std::vector<float> buf;
    std::int64_t made_first = -1;
    for (int c = 0; c < channels; ++c) {
      const float* in = planar ? planar + static_cast<std::size_t>(c) * static_cast<std::size_t>(stride) : silence.data();
      const long in_frames = planar ? static_cast<long>(frames) : kSilence;
      long used = 0;
      std::int64_t made = 0;
      do {
        // Room for everything this input can give, plus the converter's backlog.
        buf.resize(static_cast<std::size_t>(static_cast<double>(in_frames - used) * ratio) + 4096);
        SRC_DATA d{};
        d.data_in = in + used;
        d.input_frames = in_frames - used;
        d.data_out = buf.data();
        d.output_frames = static_cast<long>(buf.size());
        d.end_of_input = 0;
        d.src_ratio = ratio;
        if (int rc = src_process(states[c].get(), &d); rc != 0)
          fail("resample", std::string("libsamplerate: ") + src_strerror(rc));
        used += d.input_frames_used;
        out[c].insert(out[c].end(), buf.begin(), buf.begin() + d.output_frames_gen);
        made += d.output_frames_gen;
        if (d.input_frames_used == 0 && d.output_frames_gen == 0) break;
      } while (used < in_frames);
      if (made_first < 0) made_first = made;
      if (made != made_first) fail("resample", "channels of one signal converted to different lengths");
    }
    produced += made_first;
  }

  void compact() {
    if (head < (1 << 16) || head * 2 < static_cast<std::int64_t>(out[0].size())) return;
    for (auto& o : out) o.erase(o.begin(), o.begin() + head);
    head = 0;
  }
};

StreamResampler::StreamResampler(int channels, int from_rate, int to_rate, ResampleQuality quality)
    : impl_(std::make_unique<Impl>()) {
  if (channels < 1) fail("resample", "audio has no channels");
  if (from_rate < 1 || to_rate < 1)
    fail("resample", "sample rates " + std::to_string(from_rate) + " -> " + std::to_string(to_rate) + " are invalid");
  Impl& m = *impl_;
  m.channels = channels;
  m.ratio = static_cast<double>(to_rate) / from_rate;
  if (!src_is_valid_ratio(m.ratio))
    fail("resample", "ratio " + std::to_string(from_rate) + " -> " + std::to_string(to_rate) +
                         " is outside libsamplerate's range (1/256 .. 256)");
  for (int c = 0; c < channels; ++c) {
    int err = 0;
    m.states.emplace_back(src_new(converter_for(quality), 1, &err));
    if (!m.states.back()) fail("resample", std::string("libsamplerate: ") + src_strerror(err));
  }
  m.out.resize(static_cast<std::size_t>(channels));
}

StreamResampler::~StreamResampler() = default;
StreamResampler::StreamResampler(StreamResampler&&) noexcept = default;
StreamResampler& StreamResampler::operator=(StreamResampler&&) noexcept = default;

void StreamResampler::push(const float* planar, std::int64_t frames, std::int64_t stride) {
  if (impl_->limit >= 0) fail("resample", "input after finish()");
  if (frames > 0) impl_->run(planar, frames, stride);
}

void StreamResampler::finish(std::int64_t total_output) {
  Impl& m = *impl_;
  m.limit = total_output;
  // Past the end of the input we feed silence, the usual zero extension, until every output frame has
  // been produced (the best sinc filter looks ahead ~40k input frames even at ratio 1/256, about 10
  // blocks, so 64 silent blocks without finishing means the converter is stuck).
  for (int blocks = 0; m.produced < total_output; ++blocks) {
    if (blocks > 64) fail("resample", "libsamplerate stopped producing output");
    m.run(nullptr, 0, 0);
  }
  // Frames beyond the total are not part of the signal.
  const std::int64_t surplus = m.produced - total_output;
  if (surplus > 0) {
    for (auto& o : m.out) o.resize(o.size() - static_cast<std::size_t>(std::min<std::int64_t>(surplus, m.pending())));
    m.produced = total_output;
  }
}

std::int64_t StreamResampler::available() const { return impl_->pending(); }
const float* StreamResampler::output(int channel) const { return impl_->out[channel].data() + impl_->head; }
std::int64_t StreamResampler::produced() const { return impl_->produced; }

void StreamResampler::consume(std::int64_t frames) {
  Impl& m = *impl_;
  if (frames < 0 || frames > m.pending()) fail("resample", "consumed more frames than available");
  m.head += frames;
  m.compact();
}

Audio to_channels(const Audio& audio, int channels) {
  check_buffer("to_channels", audio);
  if (channels != 1 && channels != 2)
    fail("to_channels", "a model takes 1 or 2 channels, not " + std::to_string(channels));
  if (audio.channels == channels) return audio;

  Audio out;
  out.sample_rate = audio.sample_rate;
  out.channels = channels;
  out.frames = audio.frames;
  const auto n = static_cast<std::size_t>(audio.frames);
  out.samples.resize(static_cast<std::size_t>(channels) * n);
  if (channels == 2) {
    // Mono is duplicated; from 3+ channels the first two are kept (left, right in the usual layouts).
    const float* right = audio.channels == 1 ? audio.channel(0) : audio.channel(1);
    std::copy_n(audio.channel(0), n, out.channel(0));
    std::copy_n(right, n, out.channel(1));
  } else {
    // Mono model: mean of the first two channels; any further channels are dropped, as for stereo.
    const float* l = audio.channel(0);
    const float* r = audio.channel(1);
    float* dst = out.channel(0);
    for (std::size_t i = 0; i < n; ++i) dst[i] = 0.5f * (l[i] + r[i]);
  }
  return out;
}

}  // namespace unmix
