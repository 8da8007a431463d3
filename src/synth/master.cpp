// The mix bus: glue compressor, then makeup gain and a look-ahead limiter, as one gain curve applied to
// every stem (see unmix/synth/master.h for why a gain curve).
#include "unmix/synth/master.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>

#include "unmix/dsp/loudness.h"
#include "unmix/error.h"
#include "unmix/synth/mixdown.h"

namespace unmix::synth {

namespace {

double db_to_gain(double db) { return std::pow(10.0, db / 20.0); }
double gain_to_db(double g) { return 20.0 * std::log10(std::max(g, 1e-12)); }

// One-pole smoothing coefficient for a time constant in ms.
double smoothing(double ms, int rate) { return std::exp(-1.0 / std::max(1e-9, ms * 1e-3 * rate)); }

// Stereo-linked feed-forward compressor: level = smoothed squared peak of the channels (attack when it
// rises, release when it falls), gain reduction with a soft knee above the threshold.
std::vector<float> compressor_gain(const MasterSettings& s, const Audio& mix, double threshold_dbfs, double& deepest) {
  const double attack = smoothing(s.comp_attack_ms, mix.sample_rate), release = smoothing(s.comp_release_ms, mix.sample_rate);
  const double slope = 1.0 - 1.0 / s.comp_ratio, knee = s.comp_knee_db;
  std::vector<float> gain(static_cast<std::size_t>(mix.frames));
  double level = 0;  // power
  deepest = 0;
  for (std::int64_t i = 0; i < mix.frames; ++i) {
    double x = 0;
    for (int c = 0; c < mix.channels; ++c) x = std::max(x, static_cast<double>(std::abs(mix.channel(c)[i])));
    const double power = x * x;
    level = power > level ? attack * level + (1 - attack) * power : release * level + (1 - release) * power;
    const double over = 10.0 * std::log10(std::max(level, 1e-24)) - threshold_dbfs;
    double reduction = 0;
    if (over >= knee / 2) reduction = slope * over;
    else if (over > -knee / 2) reduction = slope * (over + knee / 2) * (over + knee / 2) / (2 * knee);
    deepest = std::max(deepest, reduction);
    gain[static_cast<std::size_t>(i)] = static_cast<float>(db_to_gain(-reduction));
  }
  return gain;
}

// Look-ahead peak limiter on mix * pre (pre: the gain so far): the gain each sample needs to stay under
// the ceiling, a running minimum over the next `window` samples, then a moving average over the last
// `window` of those minima. Every minimum in that average covers the current sample, so the average never
// exceeds what the sample needs, and it ramps down over the look-ahead before a peak instead of stepping;
// then a release back up. The whole song is at hand, so the look-ahead needs no delay.
std::vector<float> limiter_gain(const MasterSettings& s, const Audio& mix, const std::vector<float>& pre, double& deepest) {
  const auto n = static_cast<std::size_t>(mix.frames);
  const double ceiling = db_to_gain(s.ceiling_db);
  const auto window = static_cast<std::size_t>(std::max(1.0, std::round(s.limiter_lookahead_ms * 1e-3 * mix.sample_rate)));
  std::vector<double> need(n);
  for (std::size_t i = 0; i < n; ++i) {
    double x = 0;
    for (int c = 0; c < mix.channels; ++c) x = std::max(x, static_cast<double>(std::abs(mix.channel(c)[i])));
    x *= pre[i];
    need[i] = x > ceiling ? ceiling / x : 1.0;
  }
  // minimum over [i, i + window): the gain must already be low `window` samples before a peak
  std::vector<double> low(n);
  std::deque<std::size_t> q;
  for (std::size_t k = n; k-- > 0;) {
    while (!q.empty() && need[q.back()] >= need[k]) q.pop_back();
    q.push_back(k);
    while (q.front() >= k + window) q.pop_front();
    low[k] = need[q.front()];
  }
  // moving average over [i - window + 1, i]: smooth, and still <= need at every peak
  std::vector<float> gain(n);
  const double release = smoothing(s.limiter_release_ms, mix.sample_rate);
  double sum = 0, held = 1.0;
  deepest = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum += low[i];
    if (i >= window) sum -= low[i - window];
    const double target = sum / static_cast<double>(std::min(i + 1, window));
    held = target < held ? target : release * held + (1 - release) * target;
    gain[i] = static_cast<float>(held);
    deepest = std::max(deepest, -gain_to_db(gain[i]));
  }
  return gain;
}

}  // namespace

void MasterSettings::validate() const {
  auto bad = [](const std::string& field, const std::string& why) { fail("mastering", field + " " + why); };
  if (!(target_lufs >= -40 && target_lufs <= -3)) bad("target_lufs", "must be in [-40, -3] LUFS");
  if (!(ceiling_db <= 0 && ceiling_db >= -12)) bad("ceiling_db", "must be in [-12, 0] dBFS");
  if (!(comp_ratio >= 1 && comp_ratio <= 20)) bad("comp_ratio", "must be in [1, 20]");
  if (!(comp_knee_db >= 0 && comp_knee_db <= 24)) bad("comp_knee_db", "must be in [0, 24] dB");
  if (!(comp_attack_ms > 0 && comp_release_ms > 0 && limiter_lookahead_ms > 0 && limiter_release_ms > 0))
    bad("time constants", "must be positive");
  if (!std::isfinite(comp_threshold_db)) bad("comp_threshold_db", "must be finite");
}

std::vector<float> master_gain(const MasterSettings& s, const Audio& mix, MasterResult& result) {
  s.validate();
  result.lufs_before = integrated_loudness(mix);
  if (!std::isfinite(result.lufs_before)) fail("mastering", "the mix is silent");
  const std::vector<float> comp = compressor_gain(s, mix, result.lufs_before + s.comp_threshold_db, result.max_compression_db);
  Audio work = mix;  // scratch for the trial results
  std::vector<float> pre(comp.size()), gain(comp.size()), best;
  double best_error = 1e9, best_limiting = 0;
  // Loudness of the limited result for a makeup gain; the closest trial's gain curve is kept.
  auto loudness_with = [&](double makeup_db) {
    const auto g = static_cast<float>(db_to_gain(makeup_db));
    for (std::size_t i = 0; i < comp.size(); ++i) pre[i] = comp[i] * g;
    const std::vector<float> limit = limiter_gain(s, mix, pre, result.max_limiting_db);
    for (std::size_t i = 0; i < pre.size(); ++i) gain[i] = pre[i] * limit[i];
    for (int c = 0; c < mix.channels; ++c) {
      const float* x = mix.channel(c);
      float* y = work.channel(c);
      for (std::int64_t i = 0; i < mix.frames; ++i) y[i] = x[i] * gain[static_cast<std::size_t>(i)];
    }
    const double lufs = integrated_loudness(work);
    if (std::abs(s.target_lufs - lufs) < best_error) {
      best_error = std::abs(s.target_lufs - lufs);
      best = gain;
      best_limiting = result.max_limiting_db;
      result.lufs_after = lufs;
      result.makeup_db = makeup_db;
    }
    return lufs;
  };
  // The limiter takes loudness away as the makeup rises, so the loudness is a smooth, increasing, flattening
  // function of the makeup: secant steps from the unlimited estimate reach the target in a few tries.
  for (int c = 0; c < mix.channels; ++c)
    for (std::int64_t i = 0; i < mix.frames; ++i) work.channel(c)[i] = mix.channel(c)[i] * comp[static_cast<std::size_t>(i)];
  double m0 = s.target_lufs - integrated_loudness(work);
  double e0 = s.target_lufs - loudness_with(m0);
  double m1 = std::min(m0 + e0, 40.0), e1 = 0;
  for (int round = 0; round < 6 && std::abs(e0) >= 0.05; ++round) {
    e1 = s.target_lufs - loudness_with(m1);
    if (std::abs(e1) < 0.05 || std::abs(e1 - e0) < 1e-6) {
      m0 = m1;
      e0 = e1;
      break;
    }
    const double next = std::clamp(m1 - e1 * (m1 - m0) / (e1 - e0), m1 - 12.0, std::min(m1 + 12.0, 40.0));
    m0 = m1, e0 = e1, m1 = next;
  }
  result.max_limiting_db = best_limiting;
  return best;
}

MasterResult master_stems(const MasterSettings& s, std::vector<Audio>& stems, Audio& mix) {
  MasterResult result;
  if (!s.active) return result;
  const std::vector<float> gain = master_gain(s, mix, result);
  for (Audio& stem : stems)
    for (int c = 0; c < stem.channels; ++c)
      for (std::int64_t i = 0; i < stem.frames; ++i) stem.channel(c)[i] *= gain[static_cast<std::size_t>(i)];
  mix = sum_stems(stems);
  for (float x : mix.samples) result.peak = std::max(result.peak, std::abs(x));
  result.lufs_after = integrated_loudness(mix);
  return result;
}

}  // namespace unmix::synth
