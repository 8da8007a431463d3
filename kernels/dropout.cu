// Inverted dropout between LSTM layers. The mask comes from a counter-based hash of (seed, index), so it is
// reproducible, independent of the launch shape, and can be handed to the CPU reference for parity checks.
#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {
__device__ std::uint64_t splitmix64(std::uint64_t x) {
  std::uint64_t z = x + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

__global__ void dropout_forward_kernel(const float* x, std::size_t count, float keep, std::uint64_t seed, float* mask,
                                       float* y) {
  const float kept = 1.f / keep;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    // 24 random bits -> uniform in [0, 1) exactly representable in float
    const float u = static_cast<float>(splitmix64(seed + i) >> 40) * 0x1.0p-24f;
    const float m = u < keep ? kept : 0.f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

__global__ void dropout_backward_kernel(const float* dy, const float* mask, std::size_t count, float* dx) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    dx[i] = dy[i] * mask[i];
}
}  // namespace

void launch_dropout_forward(const float* x, std::size_t count, float p, std::uint64_t seed, float* mask, float* y,
                            cudaStream_t stream) {
  if (count == 0) return;
  dropout_forward_kernel<<<detail::blocks_for(count), detail::kThreads, 0, stream>>>(x, count, 1.f - p, seed, mask, y);
  UNMIX_CUDA_LAUNCH();
}

void launch_dropout_backward(const float* dy, const float* mask, std::size_t count, float* dx, cudaStream_t stream) {
  if (count == 0) return;
  dropout_backward_kernel<<<detail::blocks_for(count), detail::kThreads, 0, stream>>>(dy, mask, count, dx);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu
