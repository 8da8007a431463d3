#pragma once
// Batches of training audio from a Cache, prepared by worker threads ahead of the consumer.
//
// Excerpt mode (training) mirrors openunmix's VariableSourcesTrackFolderDataset with random_chunks and
// random_interferer_mix and the "gain" + "channelswap" source augmentations:
//   - the target track runs through a shuffled list holding every track of the split samples_per_track
//     times (openunmix: DataLoader shuffle=True), a fresh shuffle per epoch;
//   - the interferers come from a different track of the same split, drawn uniformly;
//   - each takes a random excerpt of seq_dur seconds (start uniform over the whole track);
//   - each source gets a gain uniform in [gain_low, gain_high] and a left/right swap with probability 0.5;
//   - mix = augmented target + augmented interferers, summed after augmentation.
// Differences from openunmix: the interferers are augmented as one summed source (the cache stores their
// sum, not each stem); the interferer track is never the target track; optional silence skipping redraws
// a target excerpt whose RMS is below a threshold.
//
// Batch b depends only on (seed, b): its random numbers come from a generator seeded with both, so the
// number of workers changes nothing but speed.
//
// Augmentations for what users feed in (augment.h, docs/data.md): each item can also get a mono fold, an EQ
// tilt (mix and target alike), a sample-rate round trip and a lossy-codec round trip (the mix only: the target
// stays clean), each with its own probability, drawn from a stream of its own keyed by (seed, item), so they
// change no other draw. All are off by default; off, the batches are exactly those without them.
//
// Whole-track mode (validation) yields each track of the split once, in cache order, without augmentation,
// batch size 1, as long as the track, then ends.
//
// Output layout: time-domain audio, planar per item, [batch][channels][samples] float32, for mix and
// target separately (the STFT is the trainer's job).
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "unmix/data/augment.h"
#include "unmix/data/cache.h"

namespace unmix::data {

// Host memory for batch buffers. The default uses aligned operator new; a GPU engine can pass one that
// returns pinned memory (cudaHostAlloc / cudaFreeHost) so batches copy to the device asynchronously.
class HostAllocator {
 public:
  virtual ~HostAllocator() = default;
  virtual void* allocate(std::size_t bytes) = 0;  // throws on failure
  virtual void deallocate(void* pointer, std::size_t bytes) noexcept = 0;
};
std::shared_ptr<HostAllocator> default_host_allocator();  // 64-byte aligned, shared instance

struct LoaderOptions {
  enum class Mode { Excerpts, WholeTracks };
  Mode mode = Mode::Excerpts;
  Split split = Split::Train;
  double seq_dur = 6.0;            // seconds per excerpt; tracks shorter than this are not sampled
  int batch_size = 16;
  int samples_per_track = 64;      // excerpts per track per epoch (openunmix's samples_per_track)
  std::uint64_t seed = 42;
  int workers = 2;                 // threads preparing batches (>= 1)
  int prefetch = 2;                // batches ready or being filled beyond the one leased (>= 1; >= workers keeps
                                   // every worker busy): prefetch + 1 buffers in all
  std::int64_t max_batches = 0;    // excerpt mode: stop after this many (0: never stop)
  // Data parallelism: excerpt mode makes only items [shard_offset, shard_offset + shard_size) of each batch
  // of batch_size (0: all), exactly as the whole batch would hold them; whole-track mode yields only the
  // tracks whose position in the split is track_offset, track_offset + track_stride, ...
  int shard_offset = 0, shard_size = 0;
  int track_offset = 0, track_stride = 1;
  float gain_low = 0.25f, gain_high = 1.25f;
  bool gain = true;
  bool channel_swap = true;
  bool random_interferer_track = true;  // false: interferers from the target's own track at the same start
  float silence_threshold = 0.f;   // > 0: redraw a target excerpt whose RMS (before gain) is below this
  int silence_retries = 10;        // draws before accepting a quiet excerpt anyway
  bool include_bleed = true;       // false: tracks flagged bleed are not used
  // Input augmentations, each with its own probability per item (0: off, the default).
  double mono_probability = 0;     // mix and target folded to (L+R)/2 on both channels (stereo caches)
  double tilt_probability = 0;     // mix and target: a tilt uniform in [-max, max] dB/octave
  double tilt_db_per_octave_max = 1.0;  // 0 .. kMaxTiltDbPerOctave
  double resample_probability = 0; // mix only: a round trip through one of resample_rates, drawn uniformly
  std::vector<int> resample_rates = {48000};
  double codec_probability = 0;    // mix only: one of codecs, drawn uniformly, at a bitrate drawn uniformly
  std::vector<Codec> codecs = {Codec::Mp3, Codec::Vorbis, Codec::Opus};
  int codec_kbps_min = 64, codec_kbps_max = 192;  // within kMinCodecKbps .. kMaxCodecKbps
};

// How one batch item was made (enough to recompute it from the cache).
struct ExcerptInfo {
  std::size_t target_track = 0, interferer_track = 0;  // Cache::tracks() indices
  std::int64_t target_start = 0, interferer_start = 0;  // frames
  float target_gain = 1.f, interferer_gain = 1.f;
  bool target_swapped = false, interferer_swapped = false;
  ItemAugmentation augment;  // the input augmentations applied after the mix was formed
};

struct Batch {
  std::int64_t index = 0;      // batch number, from 0
  int batch_size = 0, channels = 0;
  int global_batch_size = 0, shard_offset = 0;  // the items [shard_offset, + batch_size) of global_batch_size
  std::int64_t samples = 0;    // per channel
  const float* mix = nullptr;     // [batch][channels][samples]
  const float* target = nullptr;  // [batch][channels][samples]
  std::vector<ExcerptInfo> items;
};

class Loader;

// A ready batch; its buffers stay valid until the lease is destroyed, which hands them back for refilling.
class BatchLease {
 public:
  BatchLease(BatchLease&& other) noexcept;
  BatchLease& operator=(BatchLease&& other) noexcept;
  BatchLease(const BatchLease&) = delete;
  BatchLease& operator=(const BatchLease&) = delete;
  ~BatchLease();
  const Batch& operator*() const { return *batch_; }
  const Batch* operator->() const { return batch_; }

 private:
  friend class Loader;
  BatchLease(Loader* loader, std::size_t slot, const Batch* batch) : loader_(loader), slot_(slot), batch_(batch) {}
  Loader* loader_ = nullptr;
  std::size_t slot_ = 0;
  const Batch* batch_ = nullptr;
};

class Loader {
 public:
  // The cache must outlive the loader. Throws unmix::Error for bad options (augmentation settings included,
  // checked against the cache's rate) or when the split has no track long enough for seq_dur (or, in excerpt
  // mode with random_interferer_track, fewer than two).
  Loader(const Cache& cache, LoaderOptions options,
         std::shared_ptr<HostAllocator> allocator = default_host_allocator());
  ~Loader();  // stops and joins the workers
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Blocks until the next batch (in order 0, 1, 2, ...) is ready. Empty at the end (whole-track mode,
  // max_batches) or after stop(). A worker's error is rethrown here. Call from one thread, holding at most
  // `prefetch` leases (with more, the batch it waits for has no free buffer and never comes).
  std::optional<BatchLease> next();
  void stop();  // wakes everyone; next() returns empty from then on

  const LoaderOptions& options() const { return options_; }
  const std::vector<std::size_t>& tracks() const { return tracks_; }  // the tracks it samples from
  std::int64_t seq_frames() const { return seq_frames_; }
  std::int64_t batches_per_epoch() const;  // excerpt mode: ceil(tracks * samples_per_track / batch_size)
  int items_per_batch() const;             // excerpt mode: shard_size, or batch_size without a shard

  // Fills batch `index` (its shard, when options has one) synchronously into caller-provided planar buffers
  // of items * channels * seq_frames floats (what the workers do; no threads involved).
  static void make_excerpt_batch(const Cache& cache, const LoaderOptions& options,
                                 const std::vector<std::size_t>& tracks, std::int64_t index, float* mix,
                                 float* target, std::vector<ExcerptInfo>& items);
  // Empty when the augmentation settings are usable with a cache at `sample_rate`, else the first problem,
  // naming the LoaderOptions field ("codec_probability must be in [0, 1]").
  static std::string augmentation_problem(const LoaderOptions& options, int sample_rate);
  // The tracks excerpt mode samples from: the split's tracks, long enough, bleed filtered as asked.
  static std::vector<std::size_t> eligible_tracks(const Cache& cache, const LoaderOptions& options);

 private:
  friend class BatchLease;
  struct Slot {
    enum class State { Free, Filling, Ready, Leased };
    State state = State::Free;
    std::int64_t index = -1;
    float* memory = nullptr;  // mix then target
    std::size_t capacity = 0; // floats
    Batch batch;
  };
  void worker_loop();
  void fill(Slot& slot, std::int64_t index);
  void release(std::size_t slot);
  void ensure_capacity(Slot& slot, std::size_t floats);

  const Cache& cache_;
  LoaderOptions options_;
  std::shared_ptr<HostAllocator> allocator_;
  std::vector<std::size_t> tracks_;
  std::int64_t seq_frames_ = 0;
  std::int64_t total_batches_ = -1;  // -1: unbounded

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Slot> slots_;
  std::int64_t next_to_claim_ = 0;     // next batch a worker takes
  std::int64_t next_to_deliver_ = 0;   // next batch next() returns
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

}  // namespace unmix::data
