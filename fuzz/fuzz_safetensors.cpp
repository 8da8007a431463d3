// safetensors::parse on any bytes: a File or unmix::Error; then every typed view of every tensor and the
// checksum check, which must hold the same contract.
#include <cstddef>
#include <cstdint>
#include <span>

#include "unmix/error.h"
#include "unmix/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace st = unmix::safetensors;
  st::File file;
  try {
    file = st::parse(std::span(reinterpret_cast<const std::byte*>(data), size), "input");
  } catch (const unmix::Error&) {
    return 0;
  }
  for (const st::Tensor& t : file.tensors) {
    try {
      (void)st::as_float(t);
    } catch (const unmix::Error&) {
    }
    try {
      (void)st::as_i64(t);
    } catch (const unmix::Error&) {
    }
  }
  try {
    st::verify_checksum(file, "input");
  } catch (const unmix::Error&) {
  }
  return 0;
}
