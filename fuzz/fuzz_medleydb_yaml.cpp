// read_track_metadata on any <Track>_METADATA.yaml, then the manifest built from it written as JSON (text
// fields that are not UTF-8 must not reach the JSON writer).
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "unmix/data/manifest.h"
#include "unmix/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = unmix::fuzz::write_input("Track_METADATA.yaml", data, size);
  try {
    const unmix::data::TrackMetadata t = unmix::data::read_track_metadata(path);
    unmix::data::ManifestOptions options;
    options.target_labels = {"clean electric guitar"};
    options.split.valid_fraction = 0;
    options.split.test_fraction = 0;
    (void)unmix::data::manifest_to_json(unmix::data::build_manifest({t}, options));
  } catch (const unmix::Error&) {
  }
  return 0;
}
