#pragma once
// Test material that behaves like music and like a trained model, for checks that random data would make
// too easy (a comparison of two separations is only as strong as the masks are varied).
#include <cstdint>

#include "unmix/audio.h"
#include "unmix/config.h"
#include "unmix/param_table.h"

namespace unmix::test {

// Decaying tones (80-980 Hz) and noise bursts, panned, every 0.1-0.3 s.
Audio song_like_audio(double seconds, int sample_rate, int channels, std::uint64_t seed);

// Generated weights with the statistics a trained model has: input_mean / input_scale from `example`'s
// magnitudes (as preprocess computes them), and an output stage that maps the last BatchNorm's values to
// masks varied over the bins (mean about 0.5, spread about 0.25; TestMaterial checks it) rather than saturated.
UmxWeights trained_looking_weights(const ModelConfig& config, const Audio& example, std::uint64_t seed);

}  // namespace unmix::test
