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
  const gpu::DeviceReport report = requested == Device::Cuda ? gpu::require_devices() : gpu::query_devices();
  if (requested == Device::Cuda) {
    choice.gpu_wiener = true;
    choice.gpu_model = gpu_model_available();
    if (!choice.gpu_model)
      choice.notes.push_back("this build has no GPU model engine yet: the model runs on the CPU, the Wiener filter on " +
                             report.devices.front().name);
    return choice;
  }
  // auto: the GPU only when it can run the model too; the filter alone does not pay for the transfers.
  if (report.available() && gpu_model_available()) choice.gpu_model = choice.gpu_wiener = true;
  return choice;
}

}  // namespace unmix
