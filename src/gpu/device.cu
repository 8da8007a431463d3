// Device discovery. Every GPU test and tool asks here first, so a machine without a GPU gets a clear
// reason instead of a CUDA error.
#include <cuda_runtime.h>
#include <cudnn.h>
#include <dlfcn.h>

#include <string>

#include "unmix/gpu/device.h"

namespace unmix::gpu {

DeviceReport query_devices() {
  DeviceReport report;
  report.cudnn_version = static_cast<long>(cudnnGetVersion());
  Dl_info where{};
  if (dladdr(reinterpret_cast<void*>(&cudnnGetVersion), &where) && where.dli_fname) report.cudnn_library = where.dli_fname;
  int runtime = 0, driver = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) report.runtime_version = runtime;
  if (cudaDriverGetVersion(&driver) == cudaSuccess) report.driver_version = driver;
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

namespace {
std::string cuda_version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }
}  // namespace

std::string DeviceReport::summary() const {
  std::string s = std::to_string(devices.size()) + " device(s)";
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const DeviceInfo& d = devices[i];
    s += (i ? ", " : ": ") + d.name + " (cc " + std::to_string(d.major) + "." + std::to_string(d.minor) + ", " +
         std::to_string(d.memory_bytes >> 30) + " GiB, " + std::to_string(d.multiprocessors) + " SMs)";
  }
  if (!reason.empty()) s += " (" + reason + ")";
  s += "; CUDA runtime " + cuda_version_text(runtime_version) + ", driver " +
       (driver_version ? cuda_version_text(driver_version) : std::string("none"));
  s += "; cuDNN " + std::to_string(cudnn_version / 10000) + "." + std::to_string(cudnn_version / 100 % 100) + "." +
       std::to_string(cudnn_version % 100) + " (" + (cudnn_library.empty() ? "?" : cudnn_library) + ")";
  return s;
}

}  // namespace unmix::gpu
