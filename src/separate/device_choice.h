#pragma once
// Resolves --device auto|cpu|cuda against what this machine and build offer.
#include "unmix/separator.h"

namespace unmix {

struct DeviceChoice {
  bool gpu_model = false;   // model forward on GPU 0
  bool gpu_wiener = false;  // Wiener filter on GPU 0
};

// Device::Cuda without a usable GPU is an error; Device::Auto takes GPU 0 when there is one.
DeviceChoice choose_device(Device requested);

}  // namespace unmix
