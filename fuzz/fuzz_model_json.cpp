// load_model with any <target>.json beside a valid small model's weights: the hyper-parameters, the
// sample rate and the summary must be checked before anything is built from them.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "fuzz_model.h"
#include "unmix/error.h"
#include "unmix/model_dir.h"

namespace {

const std::filesystem::path& model_dir() {
  static const std::filesystem::path dir = [] {
    const auto d = unmix::fuzz::work_dir() / "model";
    unmix::UmxWeights w = unmix::fuzz::harness_model();
    unmix::save_model(d, "vocals", w);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& dir = model_dir();
  std::ofstream(dir / "vocals.json", std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    (void)unmix::load_model(dir, "vocals");
  } catch (const unmix::Error&) {
  }
  return 0;
}
