#pragma once
// The small model the model_json and checkpoint harnesses put their input beside; the suite writes their
// seeds from the same one (tests/cpu/test_fuzz_seeds.cpp).
#include "unmix/param_table.h"

namespace unmix::fuzz {

inline UmxWeights harness_model() {
  ModelConfig c;
  c.nfft = 64;
  c.nhop = 16;
  c.nb_bins = c.nfft / 2 + 1;
  c.max_bin = c.nb_bins;
  c.nb_channels = 1;
  c.hidden_size = 4;
  c.sample_rate = 8000;
  c.bandwidth = 4000;
  UmxWeights w(c);
  w.init_synthetic(1);
  return w;
}

}  // namespace unmix::fuzz
