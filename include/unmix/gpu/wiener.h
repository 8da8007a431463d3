#pragma once
// The Wiener post-filter (unmix/wiener.h) on a GPU: the same algorithm, windows and options as the CPU
// reference, in float32 with hand-written kernels (kernels/wiener_em.cu). Device buffers are kept between
// calls and only grow, so a chunked separation allocates once.
#include <memory>
#include <vector>

#include "unmix/stft.h"
#include "unmix/wiener.h"

namespace unmix::gpu {

class WienerGpu {
 public:
  explicit WienerGpu(int device = 0);  // unmix::Error when the device cannot be used
  ~WienerGpu();
  WienerGpu(const WienerGpu&) = delete;
  WienerGpu& operator=(const WienerGpu&) = delete;

  // As unmix::wiener(): returns the targets, then the residual when options.residual.
  std::vector<ComplexSpectrogram> run(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes,
                                      const WienerOptions& options);
  // The same into `sources`, reusing their host storage; `leading_frames` as in unmix::wiener.
  void run(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes, const WienerOptions& options,
           std::vector<ComplexSpectrogram>& sources, int leading_frames = 0);
  int device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace unmix::gpu
