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
