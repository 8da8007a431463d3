// BatchNorm1d over the N columns of a [C, N] activation (element (c, n) at n * C + c), fused with the
// activation that follows it in UMX (tanh after bn1, ReLU after bn2, none after bn3).
#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {
struct SumValue {
  const float* x;
  int channels;
  __device__ detail::Sums<1> operator()(std::int64_t n, int c) const {
    return {{static_cast<double>(x[n * channels + c])}};
  }
};
struct MeanFinish {
  float* mean;
  double* mean_exact;  // kept in double for the variance pass
  double count;
  __device__ void operator()(int c, const detail::Sums<1>& s) const {
    mean_exact[c] = s.v[0] / count;
    mean[c] = static_cast<float>(s.v[0] / count);
  }
};
struct CenteredSquareValue {
  const float* x;
  const double* mean_exact;
  int channels;
  __device__ detail::Sums<1> operator()(std::int64_t n, int c) const {
    const double d = static_cast<double>(x[n * channels + c]) - mean_exact[c];
    return {{d * d}};
  }
};
struct VarianceFinish {
  const double* mean_exact;
  float* inv_std;
  float* running_mean;
  float* running_var;
  double count, momentum, eps;
  __device__ void operator()(int c, const detail::Sums<1>& s) const {
    const double biased = s.v[0] / count;
    const double unbiased = s.v[0] / (count - 1.0);
    inv_std[c] = static_cast<float>(1.0 / sqrt(biased + eps));
    running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * mean_exact[c]);
    running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
  }
};

__global__ void eval_stats_kernel(const float* running_mean, const float* running_var, int channels, double eps,
                                  float* mean, float* inv_std) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  mean[c] = running_mean[c];
  inv_std[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(running_var[c]) + eps));
}

__device__ float activate(float v, Activation act) {
  if (act == Activation::Tanh) return tanhf(v);
  if (act == Activation::Relu) return v > 0.f ? v : 0.f;
  return v;
}

__global__ void apply_kernel(const float* x, int channels, std::int64_t total, const float* mean, const float* inv_std,
                             const float* gamma, const float* beta, Activation act, float* y) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>(i % channels);
    y[i] = activate((x[i] - mean[c]) * inv_std[c] * gamma[c] + beta[c], act);
  }
}

// Gradient at the BN output (before the activation).
__device__ float pre_activation_grad(float dy, float x, float y, int c, const float* mean, const float* inv_std,
                                     const float* gamma, const float* beta, Activation act) {
  if (act == Activation::Tanh) return dy * (1.f - y * y);
  if (act == Activation::Relu) return (x - mean[c]) * inv_std[c] * gamma[c] + beta[c] > 0.f ? dy : 0.f;
  return dy;
}

struct GradValue {
  const float *dy, *x, *y, *mean, *inv_std, *gamma, *beta;
  Activation act;
  int channels;
  __device__ detail::Sums<2> operator()(std::int64_t n, int c) const {
    const std::int64_t i = n * channels + c;
    const float g = pre_activation_grad(dy[i], x[i], y ? y[i] : 0.f, c, mean, inv_std, gamma, beta, act);
    const float xhat = (x[i] - mean[c]) * inv_std[c];
    return {{static_cast<double>(g), static_cast<double>(g) * xhat}};
  }
};
// dx = k * g + (x - mean) * u + w per channel (u = w = 0 in eval mode)
struct GradFinish {
  const float *gamma, *inv_std;
  float *d_gamma, *d_beta, *coefficients;
  int channels;
  double count;
  bool training;
  __device__ void operator()(int c, const detail::Sums<2>& s) const {
    d_gamma[c] += static_cast<float>(s.v[1]);
    d_beta[c] += static_cast<float>(s.v[0]);
    const double k = static_cast<double>(gamma[c]) * inv_std[c];
    coefficients[c] = static_cast<float>(k);
    coefficients[channels + c] = training ? static_cast<float>(-k * inv_std[c] * s.v[1] / count) : 0.f;
    coefficients[2 * channels + c] = training ? static_cast<float>(-k * s.v[0] / count) : 0.f;
  }
};

__global__ void input_grad_kernel(const float* dy, const float* x, const float* y, int channels, std::int64_t total,
                                  const float* mean, const float* inv_std, const float* gamma, const float* beta,
                                  Activation act, const float* coefficients, float* dx) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>(i % channels);
    const float g = pre_activation_grad(dy[i], x[i], y ? y[i] : 0.f, c, mean, inv_std, gamma, beta, act);
    dx[i] = coefficients[c] * g + (x[i] - mean[c]) * coefficients[channels + c] + coefficients[2 * channels + c];
  }
}
}  // namespace

std::size_t batchnorm_partials_size(int channels, int n) {
  // two sums for the backward; the forward's mean pass also parks `channels` doubles after its partials
  return detail::reduce_partials_size(2, n, channels) + static_cast<std::size_t>(channels);
}

void launch_batchnorm_train_stats(const float* x, int channels, int n, double momentum, double eps, float* mean,
                                  float* inv_std, float* running_mean, float* running_var, double* partials,
                                  cudaStream_t stream) {
  double* mean_exact = partials + detail::reduce_partials_size(2, n, channels);
  const double count = static_cast<double>(n);
  detail::column_reduce<1>(n, channels, SumValue{x, channels}, MeanFinish{mean, mean_exact, count}, partials, stream);
  detail::column_reduce<1>(n, channels, CenteredSquareValue{x, mean_exact, channels},
                           VarianceFinish{mean_exact, inv_std, running_mean, running_var, count, momentum, eps},
                           partials, stream);
}

void launch_batchnorm_eval_stats(const float* running_mean, const float* running_var, int channels, double eps,
                                 float* mean, float* inv_std, cudaStream_t stream) {
  eval_stats_kernel<<<(channels + detail::kThreads - 1) / detail::kThreads, detail::kThreads, 0, stream>>>(
      running_mean, running_var, channels, eps, mean, inv_std);
  UNMIX_CUDA_LAUNCH();
}

void launch_batchnorm_apply(const float* x, int channels, int n, const float* mean, const float* inv_std,
                            const float* gamma, const float* beta, Activation act, float* y, cudaStream_t stream) {
  const std::int64_t total = static_cast<std::int64_t>(channels) * n;
  if (total == 0) return;
  apply_kernel<<<detail::blocks_for(static_cast<std::size_t>(total)), detail::kThreads, 0, stream>>>(
      x, channels, total, mean, inv_std, gamma, beta, act, y);
  UNMIX_CUDA_LAUNCH();
}

void launch_batchnorm_backward(const float* dy, const float* x, const float* y, int channels, int n,
                               const float* mean, const float* inv_std, const float* gamma, const float* beta,
                               Activation act, bool training, float* dx, float* d_gamma, float* d_beta,
                               double* partials, float* coefficients, cudaStream_t stream) {
  detail::column_reduce<2>(n, channels, GradValue{dy, x, y, mean, inv_std, gamma, beta, act, channels},
                           GradFinish{gamma, inv_std, d_gamma, d_beta, coefficients, channels, static_cast<double>(n),
                                      training},
                           partials, stream);
  const std::int64_t total = static_cast<std::int64_t>(channels) * n;
  input_grad_kernel<<<detail::blocks_for(static_cast<std::size_t>(total)), detail::kThreads, 0, stream>>>(
      dy, x, y, channels, total, mean, inv_std, gamma, beta, act, coefficients, dx);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu
