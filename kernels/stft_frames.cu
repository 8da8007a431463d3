// STFT framing: cut the (reflect-padded) signal into windowed frames for cuFFT's batched R2C transform.
#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {
__global__ void stft_frames_kernel(const float* audio, int signals, std::int64_t length, int n_frames, int n_fft,
                                   int hop, int pad, const float* window, float* frames) {
  const std::int64_t total = static_cast<std::int64_t>(signals) * n_frames * n_fft;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int k = static_cast<int>(i % n_fft);
    const std::int64_t frame = i / n_fft;
    const int t = static_cast<int>(frame % n_frames);
    const int s = static_cast<int>(frame / n_frames);
    std::int64_t p = static_cast<std::int64_t>(t) * hop - pad + k;
    // reflect without repeating the edge sample, as torch's pad_mode="reflect"
    if (p < 0) p = -p;
    if (p >= length) p = 2 * (length - 1) - p;
    frames[i] = audio[static_cast<std::int64_t>(s) * length + p] * window[k];
  }
}
}  // namespace

void launch_stft_frames(const float* audio, int signals, std::int64_t length, int n_frames, int n_fft, int hop,
                        bool center, const float* window, float* frames, cudaStream_t stream) {
  const std::size_t total = static_cast<std::size_t>(signals) * n_frames * n_fft;
  if (total == 0) return;
  stft_frames_kernel<<<detail::blocks_for(total), detail::kThreads, 0, stream>>>(
      audio, signals, length, n_frames, n_fft, hop, center ? n_fft / 2 : 0, window, frames);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu
