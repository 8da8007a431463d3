#include "fixture_model.h"

#include <cstring>
#include <stdexcept>

#include "test_support.h"

namespace unmix::test {

std::vector<float> ModelFixture::f32(const std::string& name) const {
  const auto* t = file.find(name);
  if (!t) throw std::runtime_error("fixture tensor missing: " + name);
  return safetensors::as_f32(*t);
}

std::vector<double> ModelFixture::f64(const std::string& name) const {
  const auto* t = file.find(name);
  if (!t || t->dtype != safetensors::DType::F64) throw std::runtime_error("fixture F64 tensor missing: " + name);
  std::vector<double> v(t->numel());
  std::memcpy(v.data(), t->data.data(), v.size() * sizeof(double));
  return v;
}

std::vector<std::int64_t> ModelFixture::i64(const std::string& name) const {
  const auto* t = file.find(name);
  if (!t) throw std::runtime_error("fixture tensor missing: " + name);
  return safetensors::as_i64(*t);
}

double ModelFixture::meta(const std::string& key) const {
  auto it = file.metadata.find(key);
  if (it == file.metadata.end()) throw std::runtime_error("fixture metadata missing: " + key);
  return std::stod(it->second);
}

ModelFixture load_model_fixture(const std::string& file_name) {
  ModelFixture f;
  f.file = safetensors::read(fixture(file_name));
  f.config.nfft = static_cast<int>(f.meta("nfft"));
  f.config.nhop = f.config.nfft / 4;
  f.config.nb_bins = f.config.nfft / 2 + 1;
  f.config.max_bin = static_cast<int>(f.meta("max_bin"));
  f.config.nb_channels = static_cast<int>(f.meta("nb_channels"));
  f.config.hidden_size = static_cast<int>(f.meta("hidden_size"));
  f.config.nb_layers = static_cast<int>(f.meta("nb_layers"));
  f.seed = static_cast<std::uint64_t>(f.meta("seed"));
  f.frames = static_cast<int>(f.meta("frames"));
  f.batch = static_cast<int>(f.meta("batch"));
  return f;
}

}  // namespace unmix::test
