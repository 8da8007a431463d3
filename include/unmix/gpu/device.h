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
  int runtime_version = 0;
  long cudnn_version = 0;
  bool available() const { return !devices.empty(); }
};

DeviceReport query_devices();
// query_devices() for a user who asked for the GPU: throws unmix::Error "--device cuda: <reason>" when no
// device is usable, so every command refuses the same way before doing any work.
DeviceReport require_devices();

}  // namespace unmix::gpu
