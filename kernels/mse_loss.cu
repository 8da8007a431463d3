// Mean squared error: a fixed-shape two-level reduction in double (deterministic), and its gradient.
#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {
constexpr int kMseBlocks = 1024;  // fixed, so the summation order never depends on the device

__global__ void mse_partial_kernel(const float* prediction, const float* target, std::size_t count, double* partials) {
  double acc = 0.0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const double d = static_cast<double>(prediction[i]) - static_cast<double>(target[i]);
    acc += d * d;
  }
  __shared__ double shared[detail::kThreads];
  shared[threadIdx.x] = acc;
  __syncthreads();
  for (int stride = detail::kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = shared[0];
}

__global__ void mse_final_kernel(const double* partials, int blocks, std::size_t count, double* loss) {
  __shared__ double shared[detail::kThreads];
  double acc = 0.0;
  for (int i = threadIdx.x; i < blocks; i += blockDim.x) acc += partials[i];
  shared[threadIdx.x] = acc;
  __syncthreads();
  for (int stride = detail::kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) *loss = count ? shared[0] / static_cast<double>(count) : 0.0;
}

__global__ void mse_backward_kernel(const float* prediction, const float* target, std::size_t count, float k,
                                    float* d_prediction) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    d_prediction[i] = k * (prediction[i] - target[i]);
}
}  // namespace

std::size_t mse_partials_size(std::size_t) { return kMseBlocks; }

void launch_mse_loss(const float* prediction, const float* target, std::size_t count, double* partials, double* loss,
                     cudaStream_t stream) {
  mse_partial_kernel<<<kMseBlocks, detail::kThreads, 0, stream>>>(prediction, target, count, partials);
  UNMIX_CUDA_LAUNCH();
  mse_final_kernel<<<1, detail::kThreads, 0, stream>>>(partials, kMseBlocks, count, loss);
  UNMIX_CUDA_LAUNCH();
}

void launch_mse_loss_backward(const float* prediction, const float* target, std::size_t count, float scale,
                              float* d_prediction, cudaStream_t stream) {
  if (count == 0) return;
  const float k = scale * 2.f / static_cast<float>(count);
  mse_backward_kernel<<<detail::blocks_for(count), detail::kThreads, 0, stream>>>(prediction, target, count, k,
                                                                                 d_prediction);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu
