// load_checkpoint with any training state (the JSON in __metadata__) beside valid tensors, the checksum
// made to match so the state itself is what is tested: every field is range-checked or refused.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "fuzz_model.h"
#include "unmix/error.h"
#include "unmix/safetensors.h"
#include "unmix/train/checkpoint.h"

namespace {

namespace st = unmix::safetensors;

const st::File& valid_checkpoint() {
  static const st::File file = [] {
    unmix::UmxWeights w = unmix::fuzz::harness_model();
    unmix::cpu::AdamState adam;
    adam.reset(w.table.trainable_size());
    unmix::train::TrainState s;
    s.target = "vocals";
    s.lr = 1e-3;
    const auto path = unmix::fuzz::work_dir() / "seed.safetensors";
    unmix::train::save_checkpoint(path, s, w, adam);
    return st::read(path);
  }();
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  st::File f = valid_checkpoint();
  const std::string state(reinterpret_cast<const char*>(data), size);
  f.metadata["unmix.train_state"] = state;
  f.metadata[std::string(st::kChecksumKey)] = st::checksum(f.tensors, state);
  const auto path = unmix::fuzz::work_dir() / "checkpoint.safetensors";
  try {
    st::write(path, f.tensors, f.metadata);  // refuses a state that is not UTF-8
    (void)unmix::train::load_checkpoint(path);
  } catch (const unmix::Error&) {
  }
  return 0;
}
