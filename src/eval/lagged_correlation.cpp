// Complex products inside Eigen's KISS FFT without the C99 NaN/inf recovery path (__muldc3), which
// otherwise takes most of the transform time; inputs here are checked to be finite.
#pragma GCC optimize("cx-limited-range")
#include "unmix/eval/lagged_correlation.h"

#include <omp.h>

#include <algorithm>
#include <complex>
#include <unsupported/Eigen/FFT>

#include "unmix/error.h"

namespace unmix::eval {

int fast_real_fft_size(std::int64_t at_least) {
  if (at_least > (std::int64_t{1} << 30)) fail("fft", "transform of " + std::to_string(at_least) + " samples is too long");
  std::int64_t best = std::int64_t{1} << 32;
  // Enumerate 4 * 2^a * 3^b * 5^c >= at_least and keep the smallest.
  for (std::int64_t p5 = 4; p5 < best; p5 *= 5)
    for (std::int64_t p3 = p5; p3 < best; p3 *= 3) {
      std::int64_t n = p3;
      while (n < at_least) n *= 2;
      best = std::min(best, n);
    }
  return static_cast<int>(best);
}

namespace {

// Blocks of the y signals are this long (plus the lag margin) once signals are long: large enough that the
// 2 * max_lag margin is a small overhead, small enough to stay in cache.
constexpr int kLongSignalFft = 16384;

}  // namespace

LaggedCorrelations lagged_correlations(std::span<const float* const> x, std::span<const float* const> y,
                                       std::int64_t begin, std::int64_t end, int max_lag) {
  if (max_lag < 0 || end < begin) fail("lagged_correlations", "invalid range or lag");
  LaggedCorrelations out;
  out.max_lag = max_lag;
  out.x_count = static_cast<int>(x.size());
  out.y_count = static_cast<int>(y.size());
  const int lags = 2 * max_lag + 1;
  out.values.assign(x.size() * y.size() * static_cast<std::size_t>(lags), 0.0);
  const std::int64_t length = end - begin;
  if (length == 0 || x.empty() || y.empty()) return out;

  const std::int64_t margin = 2 * static_cast<std::int64_t>(max_lag);
  const int long_fft = fast_real_fft_size(std::max<std::int64_t>(kLongSignalFft, 4 * margin));
  const int fft = std::min(fast_real_fft_size(length + margin), long_fft);
  const std::int64_t block = fft - margin;
  const std::int64_t blocks = (length + block - 1) / block;
  const int bins = fft / 2 + 1;
  const std::size_t pairs = x.size() * y.size();
  using Complex = std::complex<double>;

  std::vector<std::vector<Complex>> partial(static_cast<std::size_t>(omp_get_max_threads()));
#pragma omp parallel
  {
    Eigen::FFT<double> transform;
    transform.SetFlag(Eigen::FFT<double>::HalfSpectrum);
    std::vector<double> buffer(fft);
    std::vector<Complex> xs(x.size() * bins), ys(y.size() * bins);
    auto& acc = partial[static_cast<std::size_t>(omp_get_thread_num())];
    acc.assign(pairs * bins, Complex(0.0, 0.0));
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t y0 = begin + b * block;
      const std::int64_t count = std::min(block, end - y0);
      for (std::size_t j = 0; j < y.size(); ++j) {
        std::fill(buffer.begin(), buffer.end(), 0.0);
        for (std::int64_t i = 0; i < count; ++i) buffer[i] = y[j][y0 + i];
        transform.fwd(ys.data() + j * bins, buffer.data(), fft);
      }
      // x from max_lag before the block to max_lag after it, clipped to [begin, end).
      const std::int64_t x0 = y0 - max_lag;
      const std::int64_t from = std::max(x0, begin), to = std::min(y0 + count + max_lag, end);
      for (std::size_t a = 0; a < x.size(); ++a) {
        std::fill(buffer.begin(), buffer.end(), 0.0);
        for (std::int64_t n = from; n < to; ++n) buffer[n - x0] = x[a][n];
        transform.fwd(xs.data() + a * bins, buffer.data(), fft);
      }
      // Accumulate X_a conj(Y_b) with plain real arithmetic (std::complex multiplication checks for NaN).
      for (std::size_t a = 0; a < x.size(); ++a)
        for (std::size_t j = 0; j < y.size(); ++j) {
          const double* xa = reinterpret_cast<const double*>(xs.data() + a * bins);
          const double* yb = reinterpret_cast<const double*>(ys.data() + j * bins);
          double* s = reinterpret_cast<double*>(acc.data() + (a * y.size() + j) * bins);
          for (int f = 0; f < 2 * bins; f += 2) {
            s[f] += xa[f] * yb[f] + xa[f + 1] * yb[f + 1];
            s[f + 1] += xa[f + 1] * yb[f] - xa[f] * yb[f + 1];
          }
        }
    }
  }
  // Sum the per-thread spectra in thread order (deterministic for a given thread count).
  std::vector<Complex> total(pairs * bins, Complex(0.0, 0.0));
  for (const auto& acc : partial)
    if (!acc.empty())
      for (std::size_t i = 0; i < total.size(); ++i) total[i] += acc[i];

#pragma omp parallel
  {
    Eigen::FFT<double> transform;
    transform.SetFlag(Eigen::FFT<double>::HalfSpectrum);
    std::vector<double> corr(fft);
#pragma omp for schedule(static)
    for (std::size_t p = 0; p < pairs; ++p) {
      transform.inv(corr.data(), total.data() + p * bins, fft);
      // Circular lag k' = k + max_lag of the margin-shifted x (no wrap-around: see the block sizes).
      std::copy(corr.begin(), corr.begin() + lags, out.values.begin() + static_cast<std::ptrdiff_t>(p * lags));
    }
  }
  return out;
}

}  // namespace unmix::eval
