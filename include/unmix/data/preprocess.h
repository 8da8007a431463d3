#pragma once
// Validates a MedleyDB-layout root against a manifest and writes the training cache (see cache.h):
// each track read through TrackReader (aligned, resampled, channel-converted), its target and interferer
// sums written atomically, then the per-bin statistics of the train split's mix, then index.json.
// Tracks already in the cache with the same settings and source files are reused, so an interrupted run
// resumes where it stopped.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "unmix/data/cache.h"
#include "unmix/data/dataset.h"
#include "unmix/data/manifest.h"

namespace unmix::data {

struct PreprocessOptions {
  ReadOptions read;                        // rate, channels, strict
  SampleType sample_type = SampleType::Float32;
  int n_fft = 4096, n_hop = 1024;          // the training STFT, for the statistics
  bool statistics = true;
  bool include_bleed = true;               // false: tracks flagged bleed are left out of the cache
  int threads = 0;                         // 0: all cores
};

struct PreprocessProgress {
  std::string stage;       // "tracks" or "statistics"
  std::size_t done = 0, total = 0;
  double seconds_elapsed = 0, seconds_left = 0;  // seconds_left < 0 while unknown
};

struct PreprocessReport {
  std::size_t written = 0, reused = 0, skipped = 0;  // skipped: unusable tracks (and bleed ones when excluded)
  std::vector<FileIssue> issues;                      // every issue of every track, in manifest order
  double audio_seconds = 0;                           // audio in the cache
  bool interrupted = false;                           // stop was raised; no index.json was written
};

// `stop` (may be null) is polled between tracks and statistics chunks. With options.read.strict the
// first fatal issue throws unmix::Error and nothing more is written.
PreprocessReport preprocess(const Manifest& manifest, const std::filesystem::path& root,
                            const std::filesystem::path& cache_dir, const PreprocessOptions& options,
                            const std::function<void(const PreprocessProgress&)>& progress = {},
                            const std::atomic<bool>* stop = nullptr);

// Header-only validation of every manifest track (TrackReader::validate), in manifest order.
std::vector<FileIssue> validate_root(const Manifest& manifest, const std::filesystem::path& root,
                                     const ReadOptions& options);

}  // namespace unmix::data
