// Which device runs the model and the Wiener filter.
#include "device_choice.h"

#include "unmix/gpu/device.h"

namespace unmix {

Device parse_device(const std::string& name) {
  if (name == "auto") return Device::Auto;
  if (name == "cpu") return Device::Cpu;
  if (name == "cuda") return Device::Cuda;
  fail("--device", "unknown device '" + name + "' (expected auto, cpu or cuda)");
}

DeviceChoice choose_device(Device requested) {
  DeviceChoice choice;
  if (requested == Device::Cpu) return choice;
  // cuda: a GPU or a one-line error; auto: the GPU when there is one, else the CPU.
  const gpu::DeviceReport report = requested == Device::Cuda ? gpu::require_devices() : gpu::query_devices();
  choice.gpu_model = choice.gpu_wiener = report.available();
  return choice;
}

}  // namespace unmix
