// Levels, pans and the song-wide scale; the mix is the float sum of the stems exactly as written.
#include "unmix/synth/mixdown.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "unmix/error.h"

namespace unmix::synth {

namespace {

constexpr double kReferenceRms = 0.1;  // -20 dBFS: where a stem at level 0 dB sits while it plays

float peak_of(const Audio& audio) {
  float peak = 0;
  for (float x : audio.samples) peak = std::max(peak, std::abs(x));
  return peak;
}

}  // namespace

std::array<double, 2> pan_gains(double pan) {
  const double angle = (std::clamp(pan, -1.0, 1.0) + 1.0) * std::numbers::pi / 4.0;
  return {std::numbers::sqrt2 * std::cos(angle), std::numbers::sqrt2 * std::sin(angle)};
}

double active_rms(const Audio& audio) {
  const auto window = static_cast<std::int64_t>(std::max(1, audio.sample_rate / 20));
  std::vector<double> power;
  for (std::int64_t start = 0; start < audio.frames; start += window) {
    const std::int64_t end = std::min(audio.frames, start + window);
    double sum = 0;
    for (int c = 0; c < audio.channels; ++c)
      for (std::int64_t i = start; i < end; ++i) sum += static_cast<double>(audio.channel(c)[i]) * audio.channel(c)[i];
    power.push_back(sum / static_cast<double>((end - start) * audio.channels));
  }
  const double loudest = power.empty() ? 0.0 : *std::max_element(power.begin(), power.end());
  if (loudest <= 0) return 0;
  double sum = 0;
  std::size_t n = 0;
  for (double p : power)
    if (p >= loudest * 1e-5) sum += p, ++n;  // within 50 dB of the loudest window
  return std::sqrt(sum / static_cast<double>(n));
}

Audio sum_stems(std::span<const Audio> stems) {
  if (stems.empty()) fail("mixdown", "no stems to sum");
  Audio mix;
  mix.sample_rate = stems[0].sample_rate;
  mix.channels = stems[0].channels;
  mix.frames = stems[0].frames;
  mix.samples.assign(stems[0].samples.size(), 0.0f);
  for (const Audio& stem : stems) {
    if (stem.samples.size() != mix.samples.size() || stem.channels != mix.channels || stem.sample_rate != mix.sample_rate)
      fail("mixdown", "stems differ in shape");
    for (std::size_t i = 0; i < mix.samples.size(); ++i) mix.samples[i] += stem.samples[i];
  }
  return mix;
}

Mixdown mix_stems(const SongPlan& plan, std::vector<Audio> renders) {
  if (renders.size() != plan.parts.size()) fail(plan.track_id, "renders do not match the plan's parts");
  Mixdown out;
  std::vector<std::array<double, 2>> channel_gain;
  for (std::size_t p = 0; p < renders.size(); ++p) {
    const double rms = active_rms(renders[p]);
    // Anything this quiet while playing is a missing preset or an empty part, not music.
    if (!(rms > 1e-5))
      fail(plan.track_id, "stem " + std::to_string(p + 1) + " (" + plan.parts[p].instrument.gm_name + ") is silent");
    const double gain = kReferenceRms / rms * std::pow(10.0, plan.parts[p].mix.level_db / 20.0);
    const auto pan = pan_gains(plan.parts[p].mix.pan);
    out.render_rms.push_back(rms);
    out.stem_gain.push_back(gain);
    channel_gain.push_back({gain * pan[0], gain * pan[1]});
  }
  // The scale is measured on the balanced mix and then folded into every stem's gain before the final
  // sum, so the written stems still add up to the written mix.
  Audio balanced = renders[0];
  std::fill(balanced.samples.begin(), balanced.samples.end(), 0.0f);
  float stem_peak = 0;
  for (std::size_t p = 0; p < renders.size(); ++p)
    for (int c = 0; c < balanced.channels; ++c) {
      const double g = channel_gain[p][static_cast<std::size_t>(std::min(c, 1))];
      const float* x = renders[p].channel(c);
      float* y = balanced.channel(c);
      for (std::int64_t i = 0; i < balanced.frames; ++i) {
        const auto v = static_cast<float>(x[i] * g);
        stem_peak = std::max(stem_peak, std::abs(v));
        y[i] += v;
      }
    }
  const float balanced_peak = peak_of(balanced);
  balanced = Audio();
  double scale = plan.target_peak / std::max(balanced_peak, 1e-12f);
  scale = std::min(scale, 0.99 / std::max(stem_peak, 1e-12f));
  out.mix_scale = scale;
  for (std::size_t p = 0; p < renders.size(); ++p)
    for (int c = 0; c < renders[p].channels; ++c) {
      const double g = channel_gain[p][static_cast<std::size_t>(std::min(c, 1))] * scale;
      float* x = renders[p].channel(c);
      for (std::int64_t i = 0; i < renders[p].frames; ++i) x[i] = static_cast<float>(x[i] * g);
    }
  out.stems = std::move(renders);
  out.mix = sum_stems(out.stems);
  out.mix_peak = peak_of(out.mix);
  if (!(out.mix_peak <= 1.0f)) fail(plan.track_id, "mix peak " + std::to_string(out.mix_peak) + " exceeds full scale");
  return out;
}

}  // namespace unmix::synth
