#pragma once
// Counting NaN and infinite floats: the per-step check of the training state and the cache's sample check.
// Tests the exponent bits, so it stays exact under any floating-point optimization flags and vectorizes.
#include <cstddef>

namespace unmix::cpu {

// How many of values[0, count) are NaN or +-infinity (twin of gpu::launch_count_non_finite).
std::size_t count_non_finite(const float* values, std::size_t count);

}  // namespace unmix::cpu
