#pragma once
// Status checks for cuBLAS, cuDNN and cuFFT calls (the runtime's are in unmix/gpu/check.h).
#include <cublas_v2.h>
#include <cudnn.h>
#include <cufft.h>

#include <string>

#include "unmix/gpu/check.h"

namespace unmix::gpu {

inline void check_cublas(cublasStatus_t s, const char* expr, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS) throw_gpu_error("cuBLAS", expr, file, line, cublasGetStatusString(s));
}
inline void check_cudnn(cudnnStatus_t s, const char* expr, const char* file, int line) {
  if (s != CUDNN_STATUS_SUCCESS) throw_gpu_error("cuDNN", expr, file, line, cudnnGetErrorString(s));
}
inline void check_cufft(cufftResult s, const char* expr, const char* file, int line) {
  if (s != CUFFT_SUCCESS) throw_gpu_error("cuFFT", expr, file, line, "status " + std::to_string(static_cast<int>(s)));
}

}  // namespace unmix::gpu

#define UNMIX_CUBLAS(expr) ::unmix::gpu::check_cublas((expr), #expr, __FILE__, __LINE__)
#define UNMIX_CUDNN(expr) ::unmix::gpu::check_cudnn((expr), #expr, __FILE__, __LINE__)
#define UNMIX_CUFFT(expr) ::unmix::gpu::check_cufft((expr), #expr, __FILE__, __LINE__)
