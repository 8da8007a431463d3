#include "unmix/synth/instruments.h"

#include <algorithm>
#include <string>

#include "unmix/error.h"

namespace unmix::synth {

namespace {

constexpr Instrument kMelodic[] = {
    {0, 0, "Acoustic Grand Piano", "piano"},
    {0, 1, "Bright Acoustic Piano", "piano"},
    {0, 4, "Electric Piano 1", "electric piano"},
    {0, 5, "Electric Piano 2", "electric piano"},
    {0, 16, "Drawbar Organ", "electronic organ"},
    {0, 17, "Percussive Organ", "electronic organ"},
    {0, 18, "Rock Organ", "electronic organ"},
    {0, 22, "Harmonica", "harmonica"},
    {0, 24, "Acoustic Guitar (nylon)", "acoustic guitar"},
    {0, 25, "Acoustic Guitar (steel)", "acoustic guitar"},
    {0, 26, "Electric Guitar (jazz)", "clean electric guitar"},
    {0, 27, "Electric Guitar (clean)", "clean electric guitar"},
    {0, 28, "Electric Guitar (muted)", "clean electric guitar"},
    {0, 29, "Overdriven Guitar", "distorted electric guitar"},
    {0, 30, "Distortion Guitar", "distorted electric guitar"},
    {0, 32, "Acoustic Bass", "double bass"},
    {0, 33, "Electric Bass (finger)", "electric bass"},
    {0, 34, "Electric Bass (pick)", "electric bass"},
    {0, 35, "Fretless Bass", "electric bass"},
    {0, 38, "Synth Bass 1", "synthesizer"},
    {0, 39, "Synth Bass 2", "synthesizer"},
    {0, 40, "Violin", "violin"},
    {0, 48, "String Ensemble 1", "string section"},
    {0, 49, "String Ensemble 2", "string section"},
    {0, 50, "Synth Strings 1", "synthesizer"},
    {0, 52, "Choir Aahs", "vocalists"},
    {0, 53, "Voice Oohs", "vocalists"},
    {0, 54, "Synth Voice", "vocalists"},
    {0, 56, "Trumpet", "trumpet"},
    {0, 61, "Brass Section", "brass section"},
    {0, 64, "Soprano Sax", "soprano saxophone"},
    {0, 65, "Alto Sax", "alto saxophone"},
    {0, 66, "Tenor Sax", "tenor saxophone"},
    {0, 68, "Oboe", "oboe"},
    {0, 71, "Clarinet", "clarinet"},
    {0, 73, "Flute", "flute"},
    {0, 80, "Lead 1 (square)", "synthesizer"},
    {0, 81, "Lead 2 (sawtooth)", "synthesizer"},
    {0, 85, "Lead 6 (voice)", "vocalists"},
    {0, 88, "Pad 1 (new age)", "synthesizer"},
    {0, 89, "Pad 2 (warm)", "synthesizer"},
    {0, 90, "Pad 3 (polysynth)", "synthesizer"},
    {0, 94, "Pad 7 (halo)", "synthesizer"},
};

constexpr Instrument kKits[] = {
    {kDrumBank, 0, "Standard Kit", "drum set"},    {kDrumBank, 8, "Room Kit", "drum set"},
    {kDrumBank, 16, "Power Kit", "drum set"},      {kDrumBank, 24, "Electronic Kit", "drum machine"},
    {kDrumBank, 25, "TR-808 Kit", "drum machine"}, {kDrumBank, 32, "Jazz Kit", "drum set"},
    {kDrumBank, 40, "Brush Kit", "drum set"},
};

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::Guitar: return "guitar";
    case Role::Bass: return "bass";
    case Role::Drums: return "drums";
    case Role::Keys: return "keys";
    case Role::Pad: return "pad";
    case Role::Lead: return "lead";
  }
  return "?";
}

const char* guitar_kind_name(GuitarKind kind) {
  switch (kind) {
    case GuitarKind::Acoustic: return "acoustic";
    case GuitarKind::CleanElectric: return "clean";
    case GuitarKind::DistortedElectric: return "distorted";
  }
  return "?";
}

const char* guitar_kind_label(GuitarKind kind) {
  switch (kind) {
    case GuitarKind::Acoustic: return "acoustic guitar";
    case GuitarKind::CleanElectric: return "clean electric guitar";
    case GuitarKind::DistortedElectric: return "distorted electric guitar";
  }
  return "?";
}

std::optional<GuitarKind> parse_guitar_kind(std::string_view text) {
  for (GuitarKind kind : kAllGuitarKinds)
    if (text == guitar_kind_name(kind) || text == guitar_kind_label(kind)) return kind;
  return std::nullopt;
}

Instrument melodic_instrument(int program) {
  for (const Instrument& i : kMelodic)
    if (i.program == program) return i;
  fail("instruments", "GM program " + std::to_string(program) + " is not one the corpus uses");
}

Instrument drum_kit(int program) {
  for (const Instrument& i : kKits)
    if (i.program == program) return i;
  fail("instruments", "drum kit " + std::to_string(program) + " is not one the corpus uses");
}

std::vector<int> guitar_programs(GuitarKind kind, bool amp_models) {
  switch (kind) {
    case GuitarKind::Acoustic: return {24, 25};
    case GuitarKind::CleanElectric: return {26, 27};
    case GuitarKind::DistortedElectric: return amp_models ? std::vector<int>{27, 27, 28, 29} : std::vector<int>{29, 30};
  }
  return {};
}

std::vector<std::string_view> all_labels() {
  std::vector<std::string_view> labels;
  for (const Instrument& i : kMelodic) labels.emplace_back(i.label);
  for (const Instrument& i : kKits) labels.emplace_back(i.label);
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}

}  // namespace unmix::synth
