// Device discovery. Every GPU test and tool asks here first, so a machine without a GPU gets a clear
// reason instead of a CUDA error.
#include <cuda_runtime.h>
#include <cudnn.h>

#include "unmix/gpu/device.h"

namespace unmix::gpu {

DeviceReport query_devices() {
  DeviceReport report;
  report.cudnn_version = static_cast<long>(cudnnGetVersion());
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) report.runtime_version = runtime;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    report.reason = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error so later queries start clean
    return report;
  }
  if (count == 0) {
    report.reason = "no CUDA device present";
    return report;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    report.devices.push_back({i, prop.name, prop.major, prop.minor, prop.totalGlobalMem, prop.multiProcessorCount});
  }
  if (report.devices.empty()) report.reason = "CUDA devices found but none could be queried";
  return report;
}

}  // namespace unmix::gpu
