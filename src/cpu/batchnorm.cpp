// BatchNorm1d with PyTorch semantics: training normalizes with the biased batch variance and updates the
// running variance with the unbiased one; evaluation uses the running statistics.
// Reductions run column by column (contiguous memory) and accumulate in double, since N = frames * batch
// can be large and float sums would drift from PyTorch's.
#include <algorithm>
#include <cmath>
#include <vector>

#include "unmix/cpu/layers.h"
#include "unmix/error.h"

namespace unmix::cpu {

namespace {
template <typename T>
void normalize(const Mat<T>& x, const T* gamma, const T* beta, const BatchNormCache<T>& cache, Mat<T>& y) {
  const auto channels = x.rows(), n = x.cols();
  y.resize(channels, n);
  const Vec<T> a = cache.inv_std.cwiseProduct(ConstVecMap<T>(gamma, channels));
  const Vec<T> b = ConstVecMap<T>(beta, channels) - cache.mean.cwiseProduct(a);
  y.noalias() = (x.array().colwise() * a.array()).matrix();
  y.colwise() += b;
}

// sum(dy) and sum(dy * xhat) per channel.
template <typename T>
void reduce_dy(const Mat<T>& dy, const Mat<T>& x, const BatchNormCache<T>& cache, std::vector<double>& sum_dy,
               std::vector<double>& sum_dy_xhat) {
  const auto channels = x.rows(), n = x.cols();
  sum_dy.assign(channels, 0.0);
  sum_dy_xhat.assign(channels, 0.0);
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index c = 0; c < channels; ++c) {
      const double g = static_cast<double>(dy(c, j));
      sum_dy[c] += g;
      sum_dy_xhat[c] += g * (static_cast<double>(x(c, j)) - static_cast<double>(cache.mean[c])) *
                        static_cast<double>(cache.inv_std[c]);
    }
}
}  // namespace

template <typename T>
void batchnorm_train_forward(const Mat<T>& x, const T* gamma, const T* beta, T* running_mean, T* running_var,
                             const BatchNormOptions& opt, Mat<T>& y, BatchNormCache<T>& cache, const SumAcross* across) {
  const auto channels = x.rows();
  // sums per channel, then (across shards) the value count in the last slot
  std::vector<double> sum(channels + 1, 0.0), sq(channels, 0.0);
  for (Eigen::Index j = 0; j < x.cols(); ++j)
    for (Eigen::Index c = 0; c < channels; ++c) sum[c] += static_cast<double>(x(c, j));
  sum[channels] = static_cast<double>(x.cols());
  if (across) (*across)(sum);
  const double n = sum[channels];
  if (n < 2) fail("batchnorm", "training needs more than one value per channel");
  for (Eigen::Index c = 0; c < channels; ++c) sum[c] /= n;
  for (Eigen::Index j = 0; j < x.cols(); ++j)
    for (Eigen::Index c = 0; c < channels; ++c) {
      const double d = static_cast<double>(x(c, j)) - sum[c];
      sq[c] += d * d;
    }
  if (across) (*across)(sq);
  cache.mean.resize(channels);
  cache.inv_std.resize(channels);
  for (Eigen::Index c = 0; c < channels; ++c) {
    const double mean = sum[c];
    const double var_biased = sq[c] / n;
    const double var_unbiased = sq[c] / (n - 1);
    cache.mean[c] = static_cast<T>(mean);
    cache.inv_std[c] = static_cast<T>(1.0 / std::sqrt(var_biased + opt.eps));
    running_mean[c] = static_cast<T>((1.0 - opt.momentum) * static_cast<double>(running_mean[c]) + opt.momentum * mean);
    running_var[c] =
        static_cast<T>((1.0 - opt.momentum) * static_cast<double>(running_var[c]) + opt.momentum * var_unbiased);
  }
  normalize(x, gamma, beta, cache, y);
}

template <typename T>
void batchnorm_eval_forward(const Mat<T>& x, const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, const BatchNormOptions& opt, Mat<T>& y, BatchNormCache<T>& cache) {
  const auto channels = x.rows();
  cache.mean.resize(channels);
  cache.inv_std.resize(channels);
  for (Eigen::Index c = 0; c < channels; ++c) {
    cache.mean[c] = running_mean[c];
    cache.inv_std[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + opt.eps));
  }
  normalize(x, gamma, beta, cache, y);
}

template <typename T>
void batchnorm_train_backward(const Mat<T>& dy, const Mat<T>& x, const T* gamma, const BatchNormCache<T>& cache,
                              Mat<T>& dx, T* d_gamma, T* d_beta, const SumAcross* across) {
  const auto channels = x.rows(), local_n = x.cols();
  std::vector<double> sum_dy, sum_dy_xhat;
  reduce_dy(dy, x, cache, sum_dy, sum_dy_xhat);
  // The parameter gradients are this shard's sums; dx needs the whole batch's.
  for (Eigen::Index c = 0; c < channels; ++c) {
    d_gamma[c] += static_cast<T>(sum_dy_xhat[c]);
    d_beta[c] += static_cast<T>(sum_dy[c]);
  }
  double n = static_cast<double>(local_n);
  if (across) {
    std::vector<double> all(2 * channels + 1);
    std::copy(sum_dy.begin(), sum_dy.end(), all.begin());
    std::copy(sum_dy_xhat.begin(), sum_dy_xhat.end(), all.begin() + channels);
    all[2 * channels] = n;
    (*across)(all);
    std::copy_n(all.begin(), channels, sum_dy.begin());
    std::copy_n(all.begin() + channels, channels, sum_dy_xhat.begin());
    n = all[2 * channels];
  }
  // dx = gamma * inv_std / N * (N dy - sum(dy) - xhat sum(dy xhat))
  //    = k * dy + (x - mean) * u + w   with per-channel k, u, w
  Vec<T> k(channels), u(channels), w(channels);
  for (Eigen::Index c = 0; c < channels; ++c) {
    const double inv_std = static_cast<double>(cache.inv_std[c]);
    const double kk = static_cast<double>(gamma[c]) * inv_std;
    k[c] = static_cast<T>(kk);
    u[c] = static_cast<T>(-kk * inv_std * sum_dy_xhat[c] / n);
    w[c] = static_cast<T>(-kk * sum_dy[c] / n);
  }
  dx.resize(channels, local_n);
  dx.noalias() = (dy.array().colwise() * k.array() + (x.colwise() - cache.mean).array().colwise() * u.array()).matrix();
  dx.colwise() += w;
}

template <typename T>
void batchnorm_eval_backward(const Mat<T>& dy, const Mat<T>& x, const T* gamma, const BatchNormCache<T>& cache,
                             Mat<T>& dx, T* d_gamma, T* d_beta) {
  const auto channels = x.rows();
  std::vector<double> sum_dy, sum_dy_xhat;
  reduce_dy(dy, x, cache, sum_dy, sum_dy_xhat);
  for (Eigen::Index c = 0; c < channels; ++c) {
    d_gamma[c] += static_cast<T>(sum_dy_xhat[c]);
    d_beta[c] += static_cast<T>(sum_dy[c]);
  }
  const Vec<T> k = cache.inv_std.cwiseProduct(ConstVecMap<T>(gamma, channels));
  dx.noalias() = (dy.array().colwise() * k.array()).matrix();
}

#define UNMIX_INSTANTIATE(T)                                                                                   \
  template void batchnorm_train_forward<T>(const Mat<T>&, const T*, const T*, T*, T*, const BatchNormOptions&, \
                                           Mat<T>&, BatchNormCache<T>&, const SumAcross*);                     \
  template void batchnorm_eval_forward<T>(const Mat<T>&, const T*, const T*, const T*, const T*,               \
                                          const BatchNormOptions&, Mat<T>&, BatchNormCache<T>&);               \
  template void batchnorm_train_backward<T>(const Mat<T>&, const Mat<T>&, const T*, const BatchNormCache<T>&,  \
                                            Mat<T>&, T*, T*, const SumAcross*);                                \
  template void batchnorm_eval_backward<T>(const Mat<T>&, const Mat<T>&, const T*, const BatchNormCache<T>&,   \
                                           Mat<T>&, T*, T*);
UNMIX_INSTANTIATE(float)
UNMIX_INSTANTIATE(double)
#undef UNMIX_INSTANTIATE

}  // namespace unmix::cpu
