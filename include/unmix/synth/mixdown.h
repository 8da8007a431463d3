#pragma once
// From raw stem renders to the written stems and their mix.
#include <array>
#include <span>
#include <vector>

#include "unmix/audio.h"
#include "unmix/synth/master.h"
#include "unmix/synth/song_plan.h"

namespace unmix::synth {

struct Mixdown {
  std::vector<Audio> stems;         // as written: render x gain x pan x mix_scale, float32
  Audio mix;                        // sum_stems(stems)
  std::vector<double> render_rms;   // active RMS of each raw render
  std::vector<double> stem_gain;    // render -> stem factor before pan and mix_scale (level / render_rms)
  double mix_scale = 1;             // song-wide factor that puts the mix peak at plan.target_peak
  float mix_peak = 0;               // max |mix| after scaling and mastering (<= 1)
  MasterResult master;              // what the mix bus did (all zero when mastering is off)
};

// Brings every render to its planned level (relative to an active RMS of -20 dBFS) and pan, sums them,
// and scales all stems alike so that the mix peaks at plan.target_peak and no stem exceeds 1.
// A silent render is an Error naming the track and stem.
Mixdown mix_stems(const SongPlan& plan, std::vector<Audio> renders);

// The mix of written stems: a float sum taken in stem order, so the stems read back from their files
// reproduce it bit for bit.
Audio sum_stems(std::span<const Audio> stems);

// RMS over the 50 ms windows that carry sound (within 50 dB of the loudest one), so a part that plays
// only in the chorus is judged by how loud it is while it plays. 0 for silence.
double active_rms(const Audio& audio);

// Constant-power balance for a stereo source: {left, right} gains, both 1 at pan 0.
std::array<double, 2> pan_gains(double pan);

}  // namespace unmix::synth
