#include "song_like.h"

#include <cmath>
#include <numbers>
#include <random>

#include "unmix/stft.h"

namespace unmix::test {

Audio song_like_audio(double seconds, int sample_rate, int channels, std::uint64_t seed) {
  Audio a;
  a.sample_rate = sample_rate;
  a.channels = channels;
  a.frames = static_cast<std::int64_t>(seconds * sample_rate);
  a.samples.assign(static_cast<std::size_t>(channels) * static_cast<std::size_t>(a.frames), 0.f);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (double at = 0; at < seconds; at += 0.1 + 0.2 * u(rng)) {
    const double hz = 80 + 900 * u(rng), pan = u(rng);
    const bool noise = u(rng) < 0.2;
    const auto start = static_cast<std::int64_t>(at * sample_rate);
    for (std::int64_t i = 0; i < sample_rate / 2 && start + i < a.frames; ++i) {
      const double t = static_cast<double>(i) / sample_rate;
      const double s = std::exp(-6 * t) * (noise ? (u(rng) * 2 - 1) * std::exp(-30 * t)
                                                 : std::sin(2 * std::numbers::pi * hz * t));
      for (int c = 0; c < channels; ++c)
        a.channel(c)[start + i] += static_cast<float>(0.2 * s * (c == 0 ? 1 - pan : pan + (channels == 1)));
    }
  }
  return a;
}

UmxWeights trained_looking_weights(const ModelConfig& config, const Audio& example, std::uint64_t seed) {
  UmxWeights w(config);
  w.init_synthetic(seed);
  const Stft stft(config.nfft, config.nhop);
  const Audio input = to_channels(example, config.nb_channels);
  const ComplexSpectrogram spec = stft.forward(input.samples.data(), input.channels, input.frames, false);
  std::vector<double> sum(config.max_bin, 0.0), sum_sq(config.max_bin, 0.0);
  double count = 0;
  for (int c = 0; c < spec.channels; ++c)
    for (int t = 0; t < spec.frames; ++t, ++count)
      for (int f = 0; f < config.max_bin; ++f) {
        const double m = std::abs(spec.frame(c, t)[f]);
        sum[f] += m;
        sum_sq[f] += m * m;
      }
  auto mean = w["input_mean"], scale = w["input_scale"];
  for (int f = 0; f < config.max_bin; ++f) {
    const double mu = sum[f] / count, var = std::max(sum_sq[f] / count - mu * mu, 0.0);
    mean[f] = static_cast<float>(-mu);
    scale[f] = static_cast<float>(1.0 / std::max(std::sqrt(var), 1e-8));
  }
  auto out_scale = w["output_scale"], out_mean = w["output_mean"];
  for (int f = 0; f < config.nb_bins; ++f) {
    out_scale[f] = 1.2f;
    out_mean[f] = 0.45f + 0.1f * static_cast<float>(std::sin(0.01 * f));
  }
  return w;
}

}  // namespace unmix::test
