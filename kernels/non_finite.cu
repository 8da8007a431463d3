// NaN/Inf count over a flat float buffer (twin: cpu::count_non_finite), by the same exponent-bit test.
// Read-only: the training step's check after Adam changes nothing it computes.
#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {
__global__ void count_non_finite_kernel(const float* values, std::size_t count, unsigned long long* counter) {
  constexpr unsigned kExponent = 0x7f800000u;
  unsigned n = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    n += (__float_as_uint(values[i]) & kExponent) == kExponent;
  // One atomic per block: warp sums, then the block's warps in shared memory.
  for (int offset = 16; offset > 0; offset /= 2) n += __shfl_down_sync(0xffffffffu, n, offset);
  __shared__ unsigned warp_sums[detail::kThreads / 32];
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = n;
  __syncthreads();
  if (threadIdx.x == 0) {
    unsigned long long block = 0;
    for (unsigned w = 0; w < blockDim.x / 32; ++w) block += warp_sums[w];
    if (block > 0) atomicAdd(counter, block);
  }
}
}  // namespace

void launch_count_non_finite(const float* values, std::size_t count, unsigned long long* counter,
                             cudaStream_t stream) {
  if (count == 0) return;
  // A few blocks per SM are enough to stream the buffer; the grid-stride loop covers the rest.
  const unsigned blocks = detail::blocks_for(count) < 1024u ? detail::blocks_for(count) : 1024u;
  count_non_finite_kernel<<<blocks, detail::kThreads, 0, stream>>>(values, count, counter);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu
