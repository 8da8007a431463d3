// Gathers/scatters a list of contiguous segments in one launch: the LSTM tensors between the flat parameter
// buffer (openunmix's names) and cuDNN's weight space, whose layout only cuDNN knows.
#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {
__global__ void copy_segments_kernel(const float* src, float* dst, const CopySegment* segments) {
  const CopySegment seg = segments[blockIdx.y];
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < seg.count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    dst[seg.dst + i] = src[seg.src + i];
}
}  // namespace

void launch_copy_segments(const float* src, float* dst, const CopySegment* segments, int segment_count,
                          std::int64_t max_count, cudaStream_t stream) {
  if (segment_count == 0 || max_count == 0) return;
  unsigned x_blocks = detail::blocks_for(static_cast<std::size_t>(max_count));
  if (x_blocks > 64) x_blocks = 64;
  copy_segments_kernel<<<dim3(x_blocks, static_cast<unsigned>(segment_count)), detail::kThreads, 0, stream>>>(
      src, dst, segments);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu
