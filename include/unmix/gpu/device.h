#pragma once
// What GPUs this process can use, and why not when it can use none.
#include <cstddef>
#include <string>
#include <vector>

namespace unmix::gpu {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  std::size_t memory_bytes = 0;
  int multiprocessors = 0;
};

struct DeviceReport {
  std::vector<DeviceInfo> devices;
  std::string reason;  // empty when at least one device is usable
  int runtime_version = 0;    // CUDA runtime linked, e.g. 13000
  int driver_version = 0;     // CUDA version the driver supports (0: no driver)
  long cudnn_version = 0;     // cudnnGetVersion(), e.g. 91900
  std::string cudnn_library;  // the libcudnn file this process loaded
  // One line for logs: "<n> device(s): <name> (cc 9.0, 141 GiB); CUDA runtime 13.0, driver 13.0; cuDNN 9.19.0 (<path>)".
  std::string summary() const;
  bool available() const { return !devices.empty(); }
};

DeviceReport query_devices();
// query_devices() for a user who asked for the GPU: throws unmix::Error "--device cuda: <reason>" when no
// device is usable, so every command refuses the same way before doing any work.
DeviceReport require_devices();

}  // namespace unmix::gpu
