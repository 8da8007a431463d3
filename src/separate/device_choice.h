#pragma once
// Resolves --device auto|cpu|cuda against what this machine and build offer.
#include <string>
#include <vector>

#include "unmix/separator.h"

namespace unmix {

struct DeviceChoice {
  bool gpu_model = false;   // model forward on GPU 0
  bool gpu_wiener = false;  // Wiener filter on GPU 0
  std::vector<std::string> notes;
};

// Device::Cuda without a usable GPU is an error; Device::Auto picks the GPU only when it can run the model.
DeviceChoice choose_device(Device requested);

}  // namespace unmix
