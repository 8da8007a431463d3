// NaN/Inf count by exponent bits: all ones is infinite (zero mantissa) or NaN (any other mantissa).
#include "unmix/cpu/non_finite.h"

#include <bit>
#include <cstdint>

namespace unmix::cpu {

std::size_t count_non_finite(const float* values, std::size_t count) {
  constexpr std::uint32_t kExponent = 0x7f800000u;
  // 32-bit lanes so the loop vectorizes; chunks keep the lane counters from overflowing.
  std::size_t total = 0;
  constexpr std::size_t kChunk = std::size_t{1} << 30;
  for (std::size_t begin = 0; begin < count; begin += kChunk) {
    const std::size_t end = count - begin < kChunk ? count : begin + kChunk;
    std::uint32_t n = 0;
    for (std::size_t i = begin; i < end; ++i) n += (std::bit_cast<std::uint32_t>(values[i]) & kExponent) == kExponent;
    total += n;
  }
  return total;
}

}  // namespace unmix::cpu
