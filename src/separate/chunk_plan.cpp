// Chunk layout for long signals (see unmix/separator.h).
#include <algorithm>
#include <string>

#include "unmix/separator.h"

namespace unmix {

std::vector<Chunk> plan_chunks(int frames, int core_frames, int context_frames) {
  if (frames < 1) fail("chunks", "no frames to plan");
  if (core_frames < 1) fail("chunks", "chunk core must hold at least one frame, got " + std::to_string(core_frames));
  if (context_frames < 0) fail("chunks", "context must be >= 0 frames, got " + std::to_string(context_frames));
  // Same span length for every chunk (spans are shifted inward at the ends rather than cut), so every
  // model call sees the same sequence length and each core has at least `context` frames either side
  // wherever the signal has them.
  const long long wanted = static_cast<long long>(core_frames) + 2LL * context_frames;
  const int span = static_cast<int>(std::min<long long>(frames, wanted));
  std::vector<Chunk> chunks;
  for (int begin = 0; begin < frames; begin += core_frames) {
    Chunk c;
    c.core_begin = begin;
    c.core_end = std::min(frames, begin + core_frames);
    c.span_begin = std::clamp(begin - context_frames, 0, frames - span);
    c.span_end = c.span_begin + span;
    chunks.push_back(c);
    if (c.core_end == frames) break;
  }
  return chunks;
}

}  // namespace unmix
