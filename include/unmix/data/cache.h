#pragma once
// The training cache written by unmix::data::preprocess (tools/preprocess) and read, memory-mapped, by the
// loader. Layout of a cache directory:
//   index.json               format, sample rate, channels, sample type, and per track: id, split, bleed,
//                            frames, the two source files and their int16 scales
//   tracks/<id>.target.raw   sum of the target stems       } interleaved [frames][channels],
//   tracks/<id>.interf.raw   sum of the interferer stems   } little-endian float32 or int16
//   tracks/<id>.json         per-track record (lets an interrupted preprocess resume)
//   stats.safetensors        per-bin mean/std of the train split's mix magnitude ("mean", "std", F32 [bins])
// The mix is never stored: as in openunmix's variable-sources dataset, mix = target + interferers.
// Interleaved frames make a random excerpt one contiguous byte range per source.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "unmix/data/manifest.h"
#include "unmix/param_table.h"

namespace unmix::data {

enum class SampleType { Float32, Int16 };
std::string_view sample_type_name(SampleType type);  // "float32", "int16"
bool parse_sample_type(std::string_view name, SampleType& out);

enum class Source { Target, Interferers };

struct CachedTrack {
  std::string id;
  Split split = Split::Train;
  bool bleed = false;
  std::int64_t frames = 0;
  std::string target_file, interferer_file;  // relative to the cache directory
  float target_scale = 1.f, interferer_scale = 1.f;  // int16: sample = code * scale; float32: 1
};

// Per-bin statistics of the channel-averaged mix magnitude (openunmix's get_statistics over the training
// split with the training STFT, center=false), std already floored at 1e-4 of its maximum.
struct CacheStatistics {
  int n_fft = 4096, n_hop = 1024;
  std::int64_t frames = 0;  // STFT frames that went in
  std::vector<float> mean, std;
};
// input_mean = -mean, input_scale = 1 / std over the model's max_bin bins, as unmix::apply_input_statistics.
void apply_cache_statistics(UmxWeights& weights, const CacheStatistics& stats);
CacheStatistics read_cache_statistics(const std::filesystem::path& file);
void write_cache_statistics(const std::filesystem::path& file, const CacheStatistics& stats);

class Cache {
 public:
  // Reads index.json and memory-maps every track file (read-only). Throws unmix::Error naming the file for
  // a missing index, a track file of the wrong size, or an index that does not parse, and naming the file
  // and the track for a NaN or infinite sample (one pass over the float32 samples; an older preprocess did
  // not check them).
  static Cache open(const std::filesystem::path& dir);
  Cache(Cache&&) noexcept;
  Cache& operator=(Cache&&) noexcept;
  ~Cache();

  const std::filesystem::path& dir() const;
  int sample_rate() const;
  int channels() const;
  SampleType sample_type() const;
  const std::vector<CachedTrack>& tracks() const;
  std::vector<std::size_t> indices(Split split) const;  // track indices of one split, in index order
  bool has_statistics() const;
  const CacheStatistics& statistics() const;  // throws when the cache has none

  // Copies frames [start, start + count) of one source into planar float: channel c goes to
  // out[c * out_stride, c * out_stride + count), times `gain`, with left and right exchanged when
  // swap_channels (stereo only). Frames past the end read as zeros; start must be >= 0.
  void read(std::size_t track, Source source, std::int64_t start, std::int64_t count, float* out,
            std::int64_t out_stride, float gain = 1.f, bool swap_channels = false) const;
  // The same, added onto what `out` already holds (a mix assembled in one pass per source).
  void add(std::size_t track, Source source, std::int64_t start, std::int64_t count, float* out,
           std::int64_t out_stride, float gain = 1.f, bool swap_channels = false) const;

 private:
  struct Impl;
  explicit Cache(std::unique_ptr<Impl> impl);
  void transfer(std::size_t track, Source source, std::int64_t start, std::int64_t count, float* out,
                std::int64_t out_stride, float gain, bool swap_channels, bool accumulate) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace unmix::data
