#pragma once
// STFT / ISTFT on the GPU: framing and overlap-add kernels around cuFFT's batched R2C / C2R transforms,
// with the same conventions as the CPU Stft (torch.stft / torch.istft as openunmix uses them).
// Plans are cached per batch count; scratch grows to the largest shape seen.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>

#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

class GpuStft {
 public:
  GpuStft(int n_fft, int n_hop, cudaStream_t stream);
  ~GpuStft();
  GpuStft(const GpuStft&) = delete;
  GpuStft& operator=(const GpuStft&) = delete;

  int bins() const { return n_fft_ / 2 + 1; }
  int frames(std::int64_t length, bool center) const;

  // audio [signals][length] -> spectrum [signals][frames][bins] (device pointers)
  void forward(const float* audio, int signals, std::int64_t length, bool center, Complex* spectrum);
  // spectrum [signals][frames][bins] -> audio [signals][length]
  void inverse(const Complex* spectrum, int signals, int frames, bool center, std::int64_t length, float* audio);

 private:
  struct Impl;
  int n_fft_, n_hop_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace unmix::gpu
