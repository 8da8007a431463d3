#include "unmix/dsp/loudness.h"

#include <ebur128.h>

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "unmix/error.h"

namespace unmix {

double integrated_loudness(const Audio& audio) {
  if (audio.channels < 1 || audio.channels > 2) fail("loudness", "needs mono or stereo audio");
  struct Destroy {
    void operator()(ebur128_state* s) const { ebur128_destroy(&s); }
  };
  std::unique_ptr<ebur128_state, Destroy> state(
      ebur128_init(static_cast<unsigned>(audio.channels), static_cast<unsigned long>(audio.sample_rate), EBUR128_MODE_I));
  if (!state) fail("loudness", "libebur128 cannot measure " + std::to_string(audio.sample_rate) + " Hz audio");
  // libebur128 wants interleaved frames; feed it in blocks.
  constexpr std::int64_t kBlock = 8192;
  std::vector<float> interleaved(static_cast<std::size_t>(kBlock * audio.channels));
  for (std::int64_t start = 0; start < audio.frames; start += kBlock) {
    const std::int64_t n = std::min(kBlock, audio.frames - start);
    for (std::int64_t i = 0; i < n; ++i)
      for (int c = 0; c < audio.channels; ++c)
        interleaved[static_cast<std::size_t>(i * audio.channels + c)] = audio.channel(c)[start + i];
    if (ebur128_add_frames_float(state.get(), interleaved.data(), static_cast<std::size_t>(n)) != EBUR128_SUCCESS)
      fail("loudness", "libebur128 failed to take the audio");
  }
  double lufs = 0;
  if (ebur128_loudness_global(state.get(), &lufs) != EBUR128_SUCCESS) fail("loudness", "libebur128 failed to measure");
  return std::isfinite(lufs) ? lufs : -std::numeric_limits<double>::infinity();
}

}  // namespace unmix
