// Input stage: |X| (mixture magnitude kept for the output mask), crop to max_bin and (|X| + mean) * scale,
// fused in one pass over the complex spectrum; and its backward for input_mean / input_scale.
#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {
// One thread per (signal, frame, bin), bins fastest: reads and both writes are coalesced.
__global__ void magnitude_input_norm_kernel(const Complex* spectrum, int batch, int channels, int frames, int bins,
                                            int max_bin, const float* mean, const float* scale, float* mix,
                                            float* x_in) {
  const std::int64_t total = static_cast<std::int64_t>(batch) * channels * frames * bins;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int f = static_cast<int>(i % bins);
    const std::int64_t row = i / bins;  // (signal, frame)
    const int t = static_cast<int>(row % frames);
    const int s = static_cast<int>(row / frames);
    const int b = s / channels, c = s % channels;
    const Complex v = spectrum[i];
    const float magnitude = hypotf(v.re, v.im);
    const std::int64_t column = static_cast<std::int64_t>(t) * batch + b;
    if (mix) mix[(column * channels + c) * bins + f] = magnitude;
    if (x_in && f < max_bin) x_in[(column * channels + c) * max_bin + f] = (magnitude + mean[f]) * scale[f];
  }
}

__global__ void input_norm_kernel(const float* mix, std::int64_t rows, int bins, int max_bin, const float* mean,
                                  const float* scale, float* x_in) {
  const std::int64_t total = rows * max_bin;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int f = static_cast<int>(i % max_bin);
    const std::int64_t r = i / max_bin;
    x_in[i] = (mix[r * bins + f] + mean[f]) * scale[f];
  }
}

// rows are (column, channel) pairs; cols are bins < max_bin.
struct InputNormGradValue {
  const float* dx;
  const float* mix;
  const float* mean;
  const float* scale;
  int bins, max_bin;
  __device__ detail::Sums<2> operator()(std::int64_t r, int f) const {
    const float g = dx[r * max_bin + f];
    return {{static_cast<double>(g * scale[f]), static_cast<double>(g * (mix[r * bins + f] + mean[f]))}};
  }
};
struct InputNormGradFinish {
  float* d_mean;
  float* d_scale;
  __device__ void operator()(int f, const detail::Sums<2>& s) const {
    d_mean[f] += static_cast<float>(s.v[0]);
    d_scale[f] += static_cast<float>(s.v[1]);
  }
};
}  // namespace

void launch_magnitude_input_norm(const Complex* spectrum, int batch, int channels, int frames, int bins, int max_bin,
                                 const float* mean, const float* scale, float* mix, float* x_in, cudaStream_t stream) {
  const std::size_t total = static_cast<std::size_t>(batch) * channels * frames * bins;
  if (total == 0) return;
  magnitude_input_norm_kernel<<<detail::blocks_for(total), detail::kThreads, 0, stream>>>(
      spectrum, batch, channels, frames, bins, max_bin, mean, scale, mix, x_in);
  UNMIX_CUDA_LAUNCH();
}

void launch_input_norm(const float* mix, int n, int channels, int bins, int max_bin, const float* mean,
                       const float* scale, float* x_in, cudaStream_t stream) {
  const std::int64_t rows = static_cast<std::int64_t>(n) * channels;
  if (rows == 0) return;
  input_norm_kernel<<<detail::blocks_for(static_cast<std::size_t>(rows) * max_bin), detail::kThreads, 0, stream>>>(
      mix, rows, bins, max_bin, mean, scale, x_in);
  UNMIX_CUDA_LAUNCH();
}

std::size_t input_norm_partials_size(int n, int channels, int max_bin) {
  return detail::reduce_partials_size(2, static_cast<std::int64_t>(n) * channels, max_bin);
}

void launch_input_norm_backward(const float* dx, const float* mix, int n, int channels, int bins, int max_bin,
                                const float* mean, const float* scale, float* d_mean, float* d_scale,
                                double* partials, cudaStream_t stream) {
  detail::column_reduce<2>(static_cast<std::int64_t>(n) * channels, max_bin,
                           InputNormGradValue{dx, mix, mean, scale, bins, max_bin}, InputNormGradFinish{d_mean, d_scale},
                           partials, stream);
}

}  // namespace unmix::gpu
