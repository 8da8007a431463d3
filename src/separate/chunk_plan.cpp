// Chunk layout for long signals (see unmix/separator.h).
#include <algorithm>
#include <string>

#include "unmix/separator.h"

namespace unmix {

std::vector<Chunk> plan_chunks(int frames, int window, int windows_per_chunk, int context_frames) {
  if (frames < 1) fail("chunks", "no frames to plan");
  if (window < 1) fail("chunks", "Wiener window must hold at least one frame, got " + std::to_string(window));
  if (windows_per_chunk < 1) fail("chunks", "a chunk must hold at least one window, got " + std::to_string(windows_per_chunk));
  if (context_frames < 0) fail("chunks", "context must be >= 0 frames, got " + std::to_string(context_frames));
  // As few chunks as the size limit allows, with the windows spread evenly so the largest chunk (which
  // sets the memory) is as small as it can be.
  const long long windows = (static_cast<long long>(frames) + window - 1) / window;
  const long long count = (windows + windows_per_chunk - 1) / windows_per_chunk;
  std::vector<Chunk> chunks;
  long long next_window = 0;
  for (long long k = 0; k < count; ++k) {
    const long long take = windows / count + (k < windows % count ? 1 : 0);
    Chunk c;
    c.core_begin = static_cast<int>(next_window * window);
    next_window += take;
    c.core_end = static_cast<int>(std::min<long long>(frames, next_window * window));
    c.span_begin = std::max(0, c.core_begin - context_frames);
    c.span_end = static_cast<int>(std::min<long long>(frames, static_cast<long long>(c.core_end) + context_frames));
    chunks.push_back(c);
  }
  return chunks;
}

}  // namespace unmix
