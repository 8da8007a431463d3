// manifest_from_json and check_manifest on any text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "unmix/data/manifest.h"
#include "unmix/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const unmix::data::Manifest m = unmix::data::manifest_from_json(text, "input");
    (void)unmix::data::check_manifest(m);
    (void)unmix::data::manifest_to_json(m);  // what was accepted can be written again
  } catch (const unmix::Error&) {
  }
  return 0;
}
