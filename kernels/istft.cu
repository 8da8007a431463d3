// ISTFT: prepare the spectrum for cuFFT's C2R, then windowed overlap-add normalized by the window-square sum.
#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {
__global__ void istft_prepare_kernel(const Complex* spectrum, std::size_t frames_total, int bins, Complex* scratch) {
  const std::size_t total = frames_total * bins;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    Complex v = spectrum[i];
    const int f = static_cast<int>(i % bins);
    if (f == 0 || f == bins - 1) v.im = 0.f;  // a real signal's DC and Nyquist bins are real
    scratch[i] = v;
  }
}

__global__ void istft_overlap_add_kernel(const float* frames, int signals, int n_frames, int n_fft, int hop, int pad,
                                         std::int64_t length, const float* window, float* out) {
  const std::int64_t full = static_cast<std::int64_t>(n_fft) + static_cast<std::int64_t>(hop) * (n_frames - 1);
  const std::int64_t total = static_cast<std::int64_t>(signals) * length;
  const float inv_n = 1.f / static_cast<float>(n_fft);
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int s = static_cast<int>(i / length);
    const std::int64_t p = i % length + pad;
    if (p >= full) {
      out[i] = 0.f;  // torch.istft zero-pads past the last frame
      continue;
    }
    // frames t with t * hop <= p < t * hop + n_fft
    std::int64_t t_lo = p >= n_fft ? (p - n_fft) / hop + 1 : 0;
    std::int64_t t_hi = p / hop;
    if (t_hi > n_frames - 1) t_hi = n_frames - 1;
    double acc = 0.0, envelope = 0.0;
    for (std::int64_t t = t_lo; t <= t_hi; ++t) {
      const int k = static_cast<int>(p - t * hop);
      const float w = window[k];
      acc += static_cast<double>(frames[(static_cast<std::int64_t>(s) * n_frames + t) * n_fft + k] * inv_n) * w;
      envelope += static_cast<double>(w) * w;
    }
    out[i] = envelope > 1e-11 ? static_cast<float>(acc / envelope) : 0.f;
  }
}
}  // namespace

void launch_istft_prepare(const Complex* spectrum, std::size_t frames_total, int bins, Complex* scratch,
                          cudaStream_t stream) {
  const std::size_t total = frames_total * static_cast<std::size_t>(bins);
  if (total == 0) return;
  istft_prepare_kernel<<<detail::blocks_for(total), detail::kThreads, 0, stream>>>(spectrum, frames_total, bins,
                                                                                  scratch);
  UNMIX_CUDA_LAUNCH();
}

void launch_istft_overlap_add(const float* frames, int signals, int n_frames, int n_fft, int hop, bool center,
                              std::int64_t length, const float* window, float* out, cudaStream_t stream) {
  const std::size_t total = static_cast<std::size_t>(signals) * static_cast<std::size_t>(length);
  if (total == 0) return;
  istft_overlap_add_kernel<<<detail::blocks_for(total), detail::kThreads, 0, stream>>>(
      frames, signals, n_frames, n_fft, hop, center ? n_fft / 2 : 0, length, window, out);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu
