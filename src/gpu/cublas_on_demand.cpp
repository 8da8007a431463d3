// cuBLAS is opened the first time a GPU model calls it, not linked: loading libcublas (and the libcublasLt
// it pulls in) relocates about 210 MB of library data, which would then be resident in every process,
// CPU-only separations included (docs/separate.md, "Any length in small memory"). The few cuBLAS entry
// points the project uses are defined here and forward to the library found by dlopen.
#include <cublas_v2.h>
#include <dlfcn.h>

#include <mutex>
#include <string>

namespace {

struct Cublas {
  void* handle = nullptr;
  std::string error;  // why it could not be opened
};

const Cublas& cublas_library() {
  static Cublas lib;
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    lib.handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
#ifdef UNMIX_CUDA_LIBRARY_DIR
    if (!lib.handle) lib.handle = dlopen((std::string(UNMIX_CUDA_LIBRARY_DIR) + "/" + name).c_str(), RTLD_NOW | RTLD_LOCAL);
#endif
    if (!lib.handle) {
      const char* why = dlerror();
      lib.error = name + " cannot be loaded: " + (why ? why : "not found");
    }
  });
  return lib;
}

// The library's own `name`, or nullptr when it cannot be opened.
template <typename Fn>
Fn* entry(const char* name) {
  const Cublas& lib = cublas_library();
  return lib.handle ? reinterpret_cast<Fn*>(dlsym(lib.handle, name)) : nullptr;
}

// Calls `fn` (looked up once by each caller, into its own static) or reports the library missing.
template <typename Fn, typename... Args>
cublasStatus_t call(Fn* fn, Args... args) {
  return fn ? fn(args...) : CUBLAS_STATUS_NOT_INITIALIZED;
}

}  // namespace

extern "C" {

cublasStatus_t CUBLASWINAPI cublasCreate_v2(cublasHandle_t* handle) {
  static auto* const fn = entry<decltype(cublasCreate_v2)>("cublasCreate_v2");
  return call(fn, handle);
}

cublasStatus_t CUBLASWINAPI cublasDestroy_v2(cublasHandle_t handle) {
  static auto* const fn = entry<decltype(cublasDestroy_v2)>("cublasDestroy_v2");
  return call(fn, handle);
}

cublasStatus_t CUBLASWINAPI cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  static auto* const fn = entry<decltype(cublasSetStream_v2)>("cublasSetStream_v2");
  return call(fn, handle, stream);
}

cublasStatus_t CUBLASWINAPI cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  static auto* const fn = entry<decltype(cublasSetMathMode)>("cublasSetMathMode");
  return call(fn, handle, mode);
}

cublasStatus_t CUBLASWINAPI cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                           int m, int n, int k, const float* alpha, const float* A, int lda,
                                           const float* B, int ldb, const float* beta, float* C, int ldc) {
  static auto* const fn = entry<decltype(cublasSgemm_v2)>("cublasSgemm_v2");
  return call(fn, handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

cublasStatus_t CUBLASWINAPI cublasSaxpy_v2(cublasHandle_t handle, int n, const float* alpha, const float* x, int incx,
                                           float* y, int incy) {
  static auto* const fn = entry<decltype(cublasSaxpy_v2)>("cublasSaxpy_v2");
  return call(fn, handle, n, alpha, x, incx, y, incy);
}

const char* CUBLASWINAPI cublasGetStatusString(cublasStatus_t status) {
  using Fn = decltype(cublasGetStatusString);
  static Fn* const fn = entry<Fn>("cublasGetStatusString");
  if (fn) return fn(status);
  return cublas_library().error.empty() ? "cuBLAS entry point missing" : cublas_library().error.c_str();
}

}  // extern "C"
