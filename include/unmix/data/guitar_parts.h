#pragma once
// Guitar parts of the generated corpus: every guitar stem's metadata records the part it plays (lead or
// rhythm) and its kind (acoustic, clean or distorted electric) in its `synthesis` block, so a manifest can
// make one part the target and leave the other guitars among the interferers (docs/data.md).
#include <string>
#include <vector>

#include "unmix/data/manifest.h"

namespace unmix::data {

struct GuitarPart {
  std::string role;  // "lead", "rhythm", or "" for either
  std::string kind;  // "acoustic", "electric" (clean or distorted), "clean", "distorted", or "" for any
};

// Checks the names; unmix::Error naming the flag (--guitar-role / --guitar-kind) otherwise.
void validate(const GuitarPart& part);
// The label the selected stems get and the default manifest name's source: "lead guitar",
// "electric guitar", "rhythm acoustic guitar", ...
std::string guitar_part_label(const GuitarPart& part);
// Gives every guitar stem that plays `part` the single instrument label guitar_part_label(part); other
// stems keep theirs. Stems without a `synthesis` block never match. Returns the number of stems relabelled.
std::size_t label_guitar_part(std::vector<TrackMetadata>& tracks, const GuitarPart& part);

}  // namespace unmix::data
