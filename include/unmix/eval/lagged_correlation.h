#pragma once
// Cross-correlations at small lags between long signals, by FFT over blocks: memory stays O(block) and
// the work O(length log block), whatever the signal length.
#include <cstdint>
#include <span>
#include <vector>

namespace unmix::eval {

// Smallest n >= at_least that is a multiple of 4 with no prime factor above 5: sizes Eigen's KISS FFT
// transforms fast (its real-input path needs a multiple of 4).
int fast_real_fft_size(std::int64_t at_least);

struct LaggedCorrelations {
  int max_lag = 0;
  int x_count = 0, y_count = 0;
  std::vector<double> values;  // [a][b][k + max_lag]

  // r_ab[k] = sum_n x_a[n + k] * y_b[n], -max_lag <= k <= max_lag.
  double operator()(int a, int b, int k) const {
    return values[(static_cast<std::size_t>(a) * y_count + b) * (2 * max_lag + 1) + (k + max_lag)];
  }
};

// Every x_a against every y_b, with both signals read on samples [begin, end) only (zero outside, as if
// the excerpt were cut out and zero-padded). Pointers index absolute sample positions. Double precision
// throughout; blocks run in parallel (OpenMP) and are summed in a fixed order, so results do not depend
// on thread timing.
LaggedCorrelations lagged_correlations(std::span<const float* const> x, std::span<const float* const> y,
                                       std::int64_t begin, std::int64_t end, int max_lag);

}  // namespace unmix::eval
