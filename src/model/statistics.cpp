#include "unmix/statistics.h"

#include <algorithm>
#include <cmath>

#include "unmix/error.h"

namespace unmix {

void BinStatistics::add_frame(const float* magnitudes) {
  ++count_;
  const double n = static_cast<double>(count_);
  for (std::size_t f = 0; f < mean_.size(); ++f) {
    const double x = magnitudes[f];
    const double delta = x - mean_[f];
    mean_[f] += delta / n;
    m2_[f] += delta * (x - mean_[f]);
  }
}

void BinStatistics::add(const ComplexSpectrogram& spec) {
  if (static_cast<std::size_t>(spec.bins) != mean_.size()) fail("statistics", "spectrogram bin count differs");
  std::vector<float> frame(spec.bins);
  for (int t = 0; t < spec.frames; ++t) {
    std::fill(frame.begin(), frame.end(), 0.f);
    for (int c = 0; c < spec.channels; ++c)
      for (int f = 0; f < spec.bins; ++f) frame[f] += std::abs(spec.frame(c, t)[f]);
    for (auto& v : frame) v /= static_cast<float>(spec.channels);
    add_frame(frame.data());
  }
}

std::vector<double> BinStatistics::std() const {
  std::vector<double> s(mean_.size(), 0.0);
  if (count_ == 0) return s;
  for (std::size_t f = 0; f < s.size(); ++f) s[f] = std::sqrt(m2_[f] / static_cast<double>(count_));
  const double floor = 1e-4 * *std::max_element(s.begin(), s.end());
  for (auto& v : s) v = std::max(v, floor);
  return s;
}

void apply_input_statistics(UmxWeights& weights, const BinStatistics& stats) {
  if (stats.frames() == 0) fail("statistics", "no frames were added");
  const auto mean = stats.mean();
  const auto std = stats.std();
  const int max_bin = weights.config.max_bin;
  if (static_cast<int>(mean.size()) < max_bin) fail("statistics", "fewer bins than the model's max_bin");
  auto input_mean = weights["input_mean"];
  auto input_scale = weights["input_scale"];
  for (int f = 0; f < max_bin; ++f) {
    input_mean[f] = static_cast<float>(-mean[f]);
    input_scale[f] = static_cast<float>(1.0 / (std[f] > 0 ? std[f] : 1.0));
  }
}

}  // namespace unmix
