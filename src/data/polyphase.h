#pragma once
// One leg of the augmentations' rate conversion (augment_resample.cpp), shared with the Opus round trip.
#include <cstdint>

namespace unmix::data {

// Converts `in_frames` frames at `from` Hz into exactly `out_frames` frames at `to` Hz: output frame k sits at
// input time k * from / to, the input is zero beyond its ends. The pair must pass round_trip_problem.
void polyphase_resample(const float* in, std::int64_t in_frames, int from, float* out, std::int64_t out_frames, int to);

// round(frames * to / from), halves up (as unmix::resample).
inline std::int64_t resampled_frames(std::int64_t frames, int from, int to) {
  return (frames * to + from / 2) / from;
}

}  // namespace unmix::data
