// Levels, pans and the song-wide scale; the mix is the float sum of the stems exactly as written.
#include "unmix/synth/mixdown.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "unmix/error.h"
#include "unmix/fx/lv2.h"

namespace unmix::synth {

namespace {

constexpr double kReferenceRms = kStemReferenceRms;

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

namespace {

void apply_chain(const std::vector<PluginSetting>& chain, Audio& audio, const std::string& where) {
  for (const PluginSetting& setting : chain) {
    try {
      fx::Lv2Effect effect(setting.uri, audio.sample_rate, audio.channels);
      for (const auto& [symbol, value] : setting.controls) effect.set(symbol, value);
      effect.run(audio);
    } catch (const Error& e) {
      fail(where, e.what());
    }
  }
}

void scale(Audio& audio, double gain) {
  for (float& x : audio.samples) x = static_cast<float>(x * gain);
}

}  // namespace

PlacedStem place_stem(const SongPlan& plan, std::size_t p, Audio render) {
  const Part& part = plan.parts.at(p);
  const std::string where = plan.track_id + " stem " + std::to_string(p + 1) + " (" + part.instrument.gm_name + ")";
  PlacedStem out;
  out.render_rms = active_rms(render);
  // Anything this quiet while playing is a missing preset or an empty part, not music.
  if (!(out.render_rms > 1e-5)) fail(where, "is silent");
  Audio x = std::move(render);
  const StemEffects& fx = part.effects;
  if (!fx.insert.empty()) {
    // a guitar's DI is one channel; an amp expects it at a studio level
    if (part.role == Role::Guitar) x = to_channels(x, 1);
    scale(x, kReferenceRms / std::max(active_rms(x), 1e-12));
    apply_chain(fx.insert, x, where);
  }
  if (x.channels == 1) x = to_channels(x, 2);
  const auto pan = pan_gains(part.mix.pan);
  for (int c = 0; c < 2; ++c) {
    float* y = x.channel(c);
    for (std::int64_t i = 0; i < x.frames; ++i) y[i] = static_cast<float>(y[i] * pan[static_cast<std::size_t>(c)]);
  }
  if (!fx.send.empty() || !fx.mix.empty()) {
    // effects and the mix compressor work on the stem at its reference level
    scale(x, kReferenceRms / std::max(active_rms(x), 1e-12));
    apply_chain(fx.send, x, where);
    apply_chain(fx.mix, x, where);
  }
  const double rms = active_rms(x);
  if (!(rms > 1e-6)) fail(where, "is silent after its effects");
  out.gain = kReferenceRms / rms * std::pow(10.0, part.mix.level_db / 20.0);
  scale(x, out.gain);
  out.audio = std::move(x);
  return out;
}

Mixdown mix_stems(const SongPlan& plan, std::vector<PlacedStem> placed) {
  if (placed.size() != plan.parts.size()) fail(plan.track_id, "stems do not match the plan's parts");
  Mixdown out;
  std::vector<Audio> stems;
  for (PlacedStem& s : placed) {
    out.render_rms.push_back(s.render_rms);
    out.stem_gain.push_back(s.gain);
    stems.push_back(std::move(s.audio));
  }
  // The scale is measured on the balanced mix and then applied to every stem before the final sum, so
  // the written stems still add up to the written mix.
  float stem_peak = 0;
  for (const Audio& s : stems) stem_peak = std::max(stem_peak, peak_of(s));
  const float balanced_peak = peak_of(sum_stems(stems));
  double factor = plan.target_peak / std::max(balanced_peak, 1e-12f);
  factor = std::min(factor, 0.99 / std::max(stem_peak, 1e-12f));
  out.mix_scale = factor;
  for (Audio& s : stems) scale(s, factor);
  out.stems = std::move(stems);
  out.mix = sum_stems(out.stems);
  out.mix_peak = peak_of(out.mix);
  if (!(out.mix_peak <= 1.0f)) fail(plan.track_id, "mix peak " + std::to_string(out.mix_peak) + " exceeds full scale");
  return out;
}

}  // namespace unmix::synth
