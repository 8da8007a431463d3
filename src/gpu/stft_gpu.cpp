#include "unmix/gpu/stft_gpu.h"

#include <map>
#include <vector>

#include "library_check.h"
#include "unmix/error.h"
#include "unmix/gpu/buffer.h"
#include "unmix/stft.h"

namespace unmix::gpu {

struct GpuStft::Impl {
  cudaStream_t stream;
  DeviceBuffer<float> window;
  DeviceBuffer<float> frames;      // real frames for R2C input / C2R output
  DeviceBuffer<Complex> scratch;   // C2R input copy (cuFFT may overwrite its input)
  std::map<int, cufftHandle> r2c, c2r;  // by transform count

  ~Impl() {
    for (auto& [count, plan] : r2c) cufftDestroy(plan);
    for (auto& [count, plan] : c2r) cufftDestroy(plan);
  }

  cufftHandle plan(std::map<int, cufftHandle>& cache, cufftType type, int n_fft, int count) {
    auto it = cache.find(count);
    if (it != cache.end()) return it->second;
    // Each plan holds its own work area; whole-track validation sees many lengths, so keep a few only.
    constexpr std::size_t kMaxPlans = 8;
    if (cache.size() >= kMaxPlans) {
      UNMIX_CUDA(cudaStreamSynchronize(stream));  // no queued transform may still use a plan's work area
      for (auto& [c, p] : cache) cufftDestroy(p);
      cache.clear();
    }
    cufftHandle handle;
    int n[1] = {n_fft};
    const int bins = n_fft / 2 + 1;
    const bool forward = type == CUFFT_R2C;
    UNMIX_CUFFT(cufftPlanMany(&handle, 1, n, nullptr, 1, forward ? n_fft : bins, nullptr, 1, forward ? bins : n_fft,
                              type, count));
    UNMIX_CUFFT(cufftSetStream(handle, stream));
    cache.emplace(count, handle);
    return handle;
  }
};

GpuStft::GpuStft(int n_fft, int n_hop, cudaStream_t stream) : n_fft_(n_fft), n_hop_(n_hop), impl_(new Impl) {
  impl_->stream = stream;
  const Stft reference(n_fft, n_hop);  // the same window values as the CPU path
  impl_->window.upload(reference.window(), stream);
}

GpuStft::~GpuStft() = default;

int GpuStft::frames(std::int64_t length, bool center) const {
  const std::int64_t padded = center ? length + n_fft_ : length;
  return padded < n_fft_ ? 0 : static_cast<int>(1 + (padded - n_fft_) / n_hop_);
}

void GpuStft::forward(const float* audio, int signals, std::int64_t length, bool center, Complex* spectrum) {
  if (center && length <= n_fft_ / 2) fail("gpu stft", "signal too short for reflect padding");
  const int n_frames = frames(length, center);
  if (n_frames == 0) fail("gpu stft", "signal shorter than n_fft");
  const int count = signals * n_frames;
  impl_->frames.reserve(static_cast<std::size_t>(count) * n_fft_);
  launch_stft_frames(audio, signals, length, n_frames, n_fft_, n_hop_, center, impl_->window.data(),
                     impl_->frames.data(), impl_->stream);
  const cufftHandle plan = impl_->plan(impl_->r2c, CUFFT_R2C, n_fft_, count);
  UNMIX_CUFFT(cufftExecR2C(plan, impl_->frames.data(), reinterpret_cast<cufftComplex*>(spectrum)));
}

void GpuStft::inverse(const Complex* spectrum, int signals, int n_frames, bool center, std::int64_t length,
                      float* audio) {
  const int count = signals * n_frames;
  impl_->scratch.reserve(static_cast<std::size_t>(count) * bins());
  impl_->frames.reserve(static_cast<std::size_t>(count) * n_fft_);
  launch_istft_prepare(spectrum, static_cast<std::size_t>(count), bins(), impl_->scratch.data(), impl_->stream);
  const cufftHandle plan = impl_->plan(impl_->c2r, CUFFT_C2R, n_fft_, count);
  UNMIX_CUFFT(cufftExecC2R(plan, reinterpret_cast<cufftComplex*>(impl_->scratch.data()), impl_->frames.data()));
  launch_istft_overlap_add(impl_->frames.data(), signals, n_frames, n_fft_, n_hop_, center, length,
                           impl_->window.data(), audio, impl_->stream);
}

}  // namespace unmix::gpu
