// Output stage: relu(z * output_scale + output_mean) * mix, and its backward (dz, d_scale, d_mean).
#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {
__global__ void output_mask_kernel(const float* z, const float* mix, std::int64_t total, int bins, const float* scale,
                                   const float* mean, float* out) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int f = static_cast<int>(i % bins);
    const float pre = z[i] * scale[f] + mean[f];
    out[i] = (pre > 0.f ? pre : 0.f) * mix[i];
  }
}

__device__ float pre_grad(float d_out, float z, float mix, float scale, float mean) {
  return z * scale + mean > 0.f ? d_out * mix : 0.f;
}

// rows: (column, channel) pairs, cols: bins
struct MaskGradValue {
  const float *d_out, *z, *mix, *scale, *mean;
  int bins;
  __device__ detail::Sums<2> operator()(std::int64_t r, int f) const {
    const std::int64_t i = r * bins + f;
    const float g = pre_grad(d_out[i], z[i], mix[i], scale[f], mean[f]);
    return {{static_cast<double>(g) * z[i], static_cast<double>(g)}};
  }
};
struct MaskGradFinish {
  float *d_scale, *d_mean;
  __device__ void operator()(int f, const detail::Sums<2>& s) const {
    d_scale[f] += static_cast<float>(s.v[0]);
    d_mean[f] += static_cast<float>(s.v[1]);
  }
};

__global__ void mask_input_grad_kernel(const float* d_out, const float* z, const float* mix, std::int64_t total,
                                       int bins, const float* scale, const float* mean, float* dz) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int f = static_cast<int>(i % bins);
    dz[i] = pre_grad(d_out[i], z[i], mix[i], scale[f], mean[f]) * scale[f];
  }
}
}  // namespace

void launch_output_mask_forward(const float* z, const float* mix, int n, int channels, int bins, const float* scale,
                                const float* mean, float* out, cudaStream_t stream) {
  const std::int64_t total = static_cast<std::int64_t>(n) * channels * bins;
  if (total == 0) return;
  output_mask_kernel<<<detail::blocks_for(static_cast<std::size_t>(total)), detail::kThreads, 0, stream>>>(
      z, mix, total, bins, scale, mean, out);
  UNMIX_CUDA_LAUNCH();
}

std::size_t output_mask_partials_size(int n, int channels, int bins) {
  return detail::reduce_partials_size(2, static_cast<std::int64_t>(n) * channels, bins);
}

void launch_output_mask_backward(const float* d_out, const float* z, const float* mix, int n, int channels, int bins,
                                 const float* scale, const float* mean, float* dz, float* d_scale, float* d_mean,
                                 double* partials, cudaStream_t stream) {
  const std::int64_t rows = static_cast<std::int64_t>(n) * channels;
  detail::column_reduce<2>(rows, bins, MaskGradValue{d_out, z, mix, scale, mean, bins}, MaskGradFinish{d_scale, d_mean},
                           partials, stream);
  const std::int64_t total = rows * bins;
  if (total == 0) return;
  mask_input_grad_kernel<<<detail::blocks_for(static_cast<std::size_t>(total)), detail::kThreads, 0, stream>>>(
      d_out, z, mix, total, bins, scale, mean, dz);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu
