#pragma once
// The LV2 plugins checked for the synthetic corpus' guitar chains (docs/lv2-plugins.md has the measurements:
// ports, controls, latency, speed).
#include <span>
#include <string_view>
#include <vector>

namespace unmix::fx {

// Where a plugin goes in a guitar chain: boost -> amp -> cabinet, gate first, EQ / compressor after,
// modulation, delay and reverb last; limiter on the master.
enum class FxRole { Boost, Amp, Cabinet, Gate, Eq, Compressor, Limiter, Modulation, Delay, Reverb };

std::string_view role_name(FxRole role);  // "boost", "amp", ...

struct VettedPlugin {
  std::string_view uri;
  FxRole role;
  std::string_view package;  // the Debian package that installs it
  // Measured: two fresh instances give byte-identical output, also when two run at once in two threads while
  // a third instance exists.
  bool deterministic;
  std::string_view note;  // character of the sound, or why it is not deterministic
};

// Every vetted plugin, grouped by role in chain order.
std::span<const VettedPlugin> vetted_plugins();

// The table's entry for a URI, or nullptr.
const VettedPlugin* find_vetted(std::string_view uri);

// The vetted plugins for a role, in table order; the non-deterministic ones only when asked for, since a
// corpus must come out the same on every run.
std::vector<VettedPlugin> vetted_for(FxRole role, bool include_nondeterministic = false);

}  // namespace unmix::fx
