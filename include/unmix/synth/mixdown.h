#pragma once
// From raw stem renders to the written stems and their mix.
#include <array>
#include <span>
#include <vector>

#include "unmix/audio.h"
#include "unmix/synth/master.h"
#include "unmix/synth/song_plan.h"

namespace unmix::synth {

// Where a stem at level_db 0 sits while it plays: an active RMS of -20 dBFS.
inline constexpr double kStemReferenceRms = 0.1;

// One stem as it leaves its channel strip, before the song-wide scale.
struct PlacedStem {
  Audio audio;               // stereo
  double render_rms = 0;     // active RMS of the raw render
  double gain = 1;           // the final level factor after the chain (to its planned level)
};

struct Mixdown {
  std::vector<Audio> stems;         // as written: placed stem x mix_scale (x the bus gain when mastered), float32
  Audio mix;                        // sum_stems(stems)
  std::vector<double> render_rms;   // active RMS of each raw render
  std::vector<double> stem_gain;    // the level factor of each stem's channel strip (see place_stem)
  double mix_scale = 1;             // song-wide factor that puts the mix peak at plan.target_peak
  float mix_peak = 0;               // max |mix| after scaling and mastering (<= 1)
  MasterResult master;              // what the mix bus did (all zero when mastering is off)
};

// A stem's channel strip, for one part's raw render (thread-safe; the corpus runs it right after rendering):
//   with effects: the dry render brought to the reference level (a guitar folded to its mono DI), the insert
//   chain, then panning, the send effects and the per-stem mix EQ and compression (StemEffects);
//   then the level: active RMS at the planned level_db relative to -20 dBFS; the pan is a constant-power
//   balance. A silent render is an Error naming the track and stem.
PlacedStem place_stem(const SongPlan& plan, std::size_t part_index, Audio render);

// Scales all placed stems alike so that the mix peaks at plan.target_peak and no stem exceeds 1, and sums them.
Mixdown mix_stems(const SongPlan& plan, std::vector<PlacedStem> stems);

// The mix of written stems: a float sum taken in stem order, so the stems read back from their files
// reproduce it bit for bit.
Audio sum_stems(std::span<const Audio> stems);

// RMS over the 50 ms windows that carry sound (within 50 dB of the loudest one), so a part that plays
// only in the chorus is judged by how loud it is while it plays. 0 for silence.
double active_rms(const Audio& audio);

// Constant-power balance for a stereo source: {left, right} gains, both 1 at pan 0.
std::array<double, 2> pan_gains(double pan);

}  // namespace unmix::synth
