#pragma once
// Internal interface between the Wiener host glue (src/gpu/wiener_gpu.cu) and its kernels
// (kernels/wiener_em.cu). Layouts match the CPU side: the mixture and every source are [channel][frame][bin].
#include <cuda_runtime_api.h>
#include <vector_types.h>

#include <string>

#include "unmix/error.h"

namespace unmix::gpu::wiener_detail {

[[noreturn]] inline void cuda_failure(cudaError_t status, const char* expr, const char* file, int line) {
  fail(std::string(file) + ":" + std::to_string(line), std::string(expr) + ": " + cudaGetErrorString(status));
}

}  // namespace unmix::gpu::wiener_detail

// Every CUDA runtime call is checked; a failure throws unmix::Error "<file>:<line>: <call>: <CUDA message>".
#define UNMIX_WIENER_CUDA(expr)                                                                      \
  do {                                                                                               \
    const cudaError_t unmix_status_ = (expr);                                                        \
    if (unmix_status_ != cudaSuccess)                                                                \
      ::unmix::gpu::wiener_detail::cuda_failure(unmix_status_, #expr, __FILE__, __LINE__);           \
  } while (0)
// After every kernel launch: catches a bad launch where it happened, not at the next synchronizing call.
#define UNMIX_WIENER_LAUNCHED() UNMIX_WIENER_CUDA(cudaGetLastError())

namespace unmix::gpu::wiener_detail {

struct KernelArgs {
  const float2* mix = nullptr;         // [channels][frames][bins]
  const float* magnitudes = nullptr;   // [targets][frames][magnitude_channels][bins]
  float2* sources = nullptr;           // [sources][channels][frames][bins]
  float* power = nullptr;              // [sources][frames][bins]: v_j(t, f)
  float2* covariance = nullptr;        // [sources][windows][bins][channels * channels]: R_j(f) per window
  unsigned int* peak = nullptr;        // [windows]: max |x|^2 as float bits (non-negative floats order as uints)
  int channels = 0, frames = 0, bins = 0;
  int targets = 0, sources_count = 0, magnitude_channels = 0;
  int window = 0, windows = 0;
  bool softmask = false, residual = false;
  bool scaled = false;  // iterations > 0: the EM works on the mixture divided by max(1, max|x| / scale_factor)
  float eps = 1e-10f, scale_factor = 10.f;
};

// Each launcher checks its launch. The peak buffer must be zeroed before launch_peak.
void launch_peak(const KernelArgs& args, cudaStream_t stream);
void launch_initial_estimates(const KernelArgs& args, cudaStream_t stream);
void launch_covariance(const KernelArgs& args, cudaStream_t stream);
// One EM re-separation; `last` multiplies the result back by the window's scale.
void launch_update(const KernelArgs& args, bool last, cudaStream_t stream);

}  // namespace unmix::gpu::wiener_detail
