// Selecting the generated corpus' guitar stems by part (see unmix/data/guitar_parts.h).
#include "unmix/data/guitar_parts.h"

#include "unmix/error.h"

namespace unmix::data {

void validate(const GuitarPart& part) {
  if (!part.role.empty() && part.role != "lead" && part.role != "rhythm")
    fail("--guitar-role", "must be lead or rhythm, not '" + part.role + "'");
  if (!part.kind.empty() && part.kind != "acoustic" && part.kind != "electric" && part.kind != "clean" &&
      part.kind != "distorted")
    fail("--guitar-kind", "must be acoustic, electric, clean or distorted, not '" + part.kind + "'");
  if (part.role.empty() && part.kind.empty()) fail("guitar part", "give a role, a kind or both");
}

std::string guitar_part_label(const GuitarPart& part) {
  std::string label;
  if (!part.role.empty()) label = part.role + " ";
  if (part.kind == "clean" || part.kind == "distorted") label += part.kind + " electric ";
  else if (!part.kind.empty()) label += part.kind + " ";
  return label + "guitar";
}

namespace {

std::string field(const StemMetadata& s, const std::string& key) {
  const auto it = s.synthesis.find(key);
  return it == s.synthesis.end() ? std::string() : it->second;
}

bool plays(const StemMetadata& s, const GuitarPart& part) {
  if (field(s, "role") != "guitar") return false;
  if (!part.role.empty() && field(s, "guitar_role") != part.role) return false;
  const std::string kind = field(s, "guitar_kind");  // acoustic | clean | distorted
  if (part.kind == "electric") return kind == "clean" || kind == "distorted";
  return part.kind.empty() || kind == part.kind;
}

}  // namespace

std::size_t label_guitar_part(std::vector<TrackMetadata>& tracks, const GuitarPart& part) {
  validate(part);
  const std::string label = guitar_part_label(part);
  std::size_t count = 0;
  for (auto& t : tracks)
    for (auto& s : t.stems)
      if (plays(s, part)) {
        s.instruments = {label};
        ++count;
      }
  return count;
}

}  // namespace unmix::data
