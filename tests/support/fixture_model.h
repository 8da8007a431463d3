#pragma once
// Loads the openunmix parity fixtures written by scripts/make_fixtures.py.
#include <string>
#include <vector>

#include "unmix/config.h"
#include "unmix/safetensors.h"

namespace unmix::test {

struct ModelFixture {
  safetensors::File file;
  ModelConfig config;
  std::uint64_t seed = 0;
  int frames = 0, batch = 0;

  std::vector<float> f32(const std::string& name) const;   // throws when missing
  std::vector<double> f64(const std::string& name) const;
  std::vector<std::int64_t> i64(const std::string& name) const;
  bool has(const std::string& name) const { return file.find(name) != nullptr; }
  double meta(const std::string& key) const;
};

ModelFixture load_model_fixture(const std::string& file_name);

}  // namespace unmix::test
