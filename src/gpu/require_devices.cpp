#include "unmix/error.h"
#include "unmix/gpu/device.h"

namespace unmix::gpu {

DeviceReport require_devices() {
  DeviceReport report = query_devices();
  if (!report.available()) fail("--device cuda", report.reason.empty() ? "no usable CUDA device" : report.reason);
  return report;
}

}  // namespace unmix::gpu
