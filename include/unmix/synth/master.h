#pragma once
// The mix bus of a synthetic song: a glue compressor and a look-ahead peak limiter that bring the mix to
// a drawn loudness (about -14 to -7 LUFS, as records are mastered) with its peaks at full scale.
//
// The stems must still add up to the mix exactly, so the bus processing is a gain curve g(t), computed from
// the mix (stereo-linked) and multiplied into every stem: mix' = sum_j g * stem_j = g * mix. No plugin
// exposes its gain curve, so the two gain computers are written here (a few dozen lines); loudness is
// measured with libebur128.
#include <vector>

#include "unmix/audio.h"

namespace unmix::synth {

struct MasterSettings {
  bool active = false;          // off: stems and mix stay as mixed (the corpus before mastering)
  double target_lufs = -10;     // integrated loudness of the mastered mix
  double ceiling_db = -0.1;     // sample-peak ceiling of the limiter (dBFS)
  double comp_threshold_db = 3; // bus compressor threshold, dB above the unmastered mix's loudness
  double comp_ratio = 2;
  double comp_knee_db = 6;
  double comp_attack_ms = 10, comp_release_ms = 150;
  double limiter_lookahead_ms = 1.5, limiter_release_ms = 80;

  void validate() const;  // unmix::Error naming the bad field
};

struct MasterResult {
  double lufs_before = 0, lufs_after = 0;
  double makeup_db = 0;             // gain into the limiter
  double max_compression_db = 0;    // deepest gain reduction of the bus compressor
  double max_limiting_db = 0;       // of the limiter
  float peak = 0;                   // sample peak of the mastered mix
};

// The bus gain of `mix` (planar, 1 or 2 channels): one value per frame.
std::vector<float> master_gain(const MasterSettings& settings, const Audio& mix, MasterResult& result);

// Multiplies every stem by master_gain(mix) and rebuilds `mix` as their float sum in stem order, so the
// written stems reproduce it bit for bit. Returns what it did; the stems are unchanged when inactive.
MasterResult master_stems(const MasterSettings& settings, std::vector<Audio>& stems, Audio& mix);

}  // namespace unmix::synth
