#pragma once
// One stem of a song rendered by its own FluidSynth instance.
#include <atomic>
#include <stdexcept>

#include "unmix/audio.h"
#include "unmix/synth/song_plan.h"
#include "unmix/synth/soundfonts.h"

namespace unmix::synth {

// Thrown when rendering stops because the stop flag was raised.
class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
};

// Part `part_index` of `plan` as 32-bit float stereo at plan.sample_rate, exactly plan.frames long, not
// dithered: a fresh synth with the part's soundfont, preset and reverb/chorus settings plays
// part_events(plan, part_index). Checks `stop` between blocks and throws Interrupted when it is set.
Audio render_part(const SoundfontSet& fonts, const SongPlan& plan, std::size_t part_index,
                  const std::atomic<bool>* stop = nullptr);

}  // namespace unmix::synth
