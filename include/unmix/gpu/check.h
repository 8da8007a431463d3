#pragma once
// Every CUDA runtime call is checked; a failure becomes unmix::Error naming the call, file and line.
// Kernel launches are followed by UNMIX_CUDA_LAUNCH() so a bad launch configuration is caught where it
// happened, not at the next synchronizing call.
#include <cuda_runtime_api.h>

#include <string>

namespace unmix::gpu {

[[noreturn]] void throw_gpu_error(const char* library, const char* expr, const char* file, int line,
                                  const std::string& message);

inline void check_cuda(cudaError_t status, const char* expr, const char* file, int line) {
  if (status != cudaSuccess) throw_gpu_error("CUDA", expr, file, line, cudaGetErrorString(status));
}

}  // namespace unmix::gpu

#define UNMIX_CUDA(expr) ::unmix::gpu::check_cuda((expr), #expr, __FILE__, __LINE__)
#define UNMIX_CUDA_LAUNCH() ::unmix::gpu::check_cuda(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
