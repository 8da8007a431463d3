#pragma once
// Validation chunking: a whole track's STFT frames cut into consecutive runs, each computed from its own
// slice of audio. With center=false every frame depends only on its own samples, so the chunks' frames are
// exactly the whole-track frames; only the model's context (the BiLSTM) is cut at chunk borders.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace unmix::train {

struct FrameChunk {
  int first = 0, count = 0;          // frames
  std::int64_t start = 0, length = 0;  // samples: [first * hop, (first + count - 1) * hop + n_fft)
};

inline std::vector<FrameChunk> frame_chunks(int frames, int chunk_frames, int n_fft, int n_hop) {
  std::vector<FrameChunk> chunks;
  const int step = chunk_frames > 0 ? chunk_frames : std::max(frames, 1);
  for (int first = 0; first < frames; first += step) {
    FrameChunk c;
    c.first = first;
    c.count = std::min(step, frames - first);
    c.start = static_cast<std::int64_t>(first) * n_hop;
    c.length = static_cast<std::int64_t>(c.count - 1) * n_hop + n_fft;
    chunks.push_back(c);
  }
  return chunks;
}

}  // namespace unmix::train
