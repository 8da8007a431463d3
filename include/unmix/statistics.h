#pragma once
// Dataset statistics for the input normalization, as openunmix's train.get_statistics: per-bin mean and
// standard deviation of the channel-averaged mixture magnitude over all frames (sklearn StandardScaler,
// population std), std floored at 1e-4 of its maximum; the model stores input_mean = -mean and
// input_scale = 1 / std, cropped to max_bin.
#include <cstdint>
#include <vector>

#include "unmix/param_table.h"
#include "unmix/stft.h"

namespace unmix {

class BinStatistics {
 public:
  explicit BinStatistics(int bins) : count_(0), mean_(bins, 0.0), m2_(bins, 0.0) {}
  void add_frame(const float* magnitudes);       // one frame of `bins` values
  void add(const ComplexSpectrogram& spectrogram);  // channel-averaged magnitude of every frame
  std::int64_t frames() const { return count_; }
  std::vector<double> mean() const { return mean_; }
  std::vector<double> std() const;  // floored as openunmix does

 private:
  std::int64_t count_;
  std::vector<double> mean_, m2_;  // Welford's running mean and sum of squared deviations
};

void apply_input_statistics(UmxWeights& weights, const BinStatistics& stats);

}  // namespace unmix
