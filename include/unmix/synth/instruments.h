#pragma once
// The instruments the corpus uses: General MIDI programs (0-based, as sent in a program change) with
// their GM names and the MedleyDB instrument label each stem is filed under.
#include <optional>
#include <string_view>
#include <vector>

namespace unmix::synth {

enum class Role { Guitar, Bass, Drums, Keys, Pad, Lead };
const char* role_name(Role role);  // "guitar", "bass", "drums", "keys", "pad", "lead"

enum class GuitarKind { Acoustic, CleanElectric, DistortedElectric };
inline constexpr GuitarKind kAllGuitarKinds[] = {GuitarKind::Acoustic, GuitarKind::CleanElectric,
                                                 GuitarKind::DistortedElectric};
const char* guitar_kind_name(GuitarKind kind);   // command-line name: "acoustic", "clean", "distorted"
const char* guitar_kind_label(GuitarKind kind);  // MedleyDB label: "acoustic guitar", ...
// Accepts the command-line name or the MedleyDB label; nullopt for anything else.
std::optional<GuitarKind> parse_guitar_kind(std::string_view text);

inline constexpr int kDrumBank = 128;
inline constexpr int kDrumChannel = 9;  // GM channel 10

struct Instrument {
  int bank = 0;       // 0 for melodic presets, kDrumBank for drum kits
  int program = 0;    // 0..127
  const char* gm_name = "";
  const char* label = "";  // MedleyDB instrument label
};

// A melodic GM program or a drum kit the corpus knows (an Error for any other).
Instrument melodic_instrument(int program);
Instrument drum_kit(int program);
// Programs for each guitar kind: nylon/steel acoustic; jazz/clean electric; overdriven/distortion. With amp
// models (LV2 chains) a distorted guitar is played as a DI into the amp: clean (twice as likely), muted or
// lightly overdriven presets, and the amp makes the distortion.
std::vector<int> guitar_programs(GuitarKind kind, bool amp_models = false);
// Every label the corpus can write, for checks.
std::vector<std::string_view> all_labels();

}  // namespace unmix::synth
