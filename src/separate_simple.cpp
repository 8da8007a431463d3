#include "unmix/separate_simple.h"

#include <cmath>

#include "unmix/error.h"
#include "unmix/stft.h"

namespace unmix {

SimpleSeparation separate_simple(UmxCpu& model, const Audio& audio) {
  const ModelConfig& c = model.weights().config;
  if (audio.channels != c.nb_channels) fail("separate", "audio has " + std::to_string(audio.channels) +
                                                           " channels, the model expects " + std::to_string(c.nb_channels));
  Stft stft(c.nfft, c.nhop);
  const auto spec = stft.forward(audio.samples.data(), audio.channels, audio.frames, true);
  std::vector<float> mix(static_cast<std::size_t>(spec.frames) * audio.channels * spec.bins);
  magnitude_frame_major(spec, 1, 0, mix.data());
  std::vector<float> estimate(mix.size());
  model.forward(mix.data(), spec.frames, 1, Mode::Eval, estimate.data());
  ComplexSpectrogram target_spec = spec;
  for (int t = 0; t < spec.frames; ++t)
    for (int ch = 0; ch < spec.channels; ++ch) {
      auto* bins = target_spec.frame(ch, t);
      const float* est = estimate.data() + (static_cast<std::size_t>(t) * spec.channels + ch) * spec.bins;
      const float* mag = mix.data() + (static_cast<std::size_t>(t) * spec.channels + ch) * spec.bins;
      for (int f = 0; f < spec.bins; ++f) bins[f] = mag[f] > 0.f ? bins[f] * (est[f] / mag[f]) : 0.f;
    }
  SimpleSeparation out;
  out.target = audio;
  stft.inverse(target_spec, true, audio.frames, out.target.samples.data());
  out.residual = audio;
  for (std::size_t i = 0; i < out.residual.samples.size(); ++i) out.residual.samples[i] -= out.target.samples[i];
  return out;
}

}  // namespace unmix
