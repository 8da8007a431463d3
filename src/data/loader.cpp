// The augmenting excerpt loader: deterministic per (seed, batch), prepared by worker threads into a ring of
// host buffers that the consumer leases in batch order.
#include "unmix/data/loader.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <numeric>

#include "unmix/error.h"

namespace unmix::data {

namespace {

constexpr std::size_t kAlignment = 64;

class AlignedHostAllocator final : public HostAllocator {
 public:
  void* allocate(std::size_t bytes) override { return ::operator new(bytes, std::align_val_t(kAlignment)); }
  void deallocate(void* pointer, std::size_t) noexcept override { ::operator delete(pointer, std::align_val_t(kAlignment)); }
};

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A small counter-based generator whose stream is fixed by its key: the same key gives the same numbers on
// every platform and in every thread (std distributions are implementation-defined, so they are not used).
class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream, std::uint64_t index)
      : state_(splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ index)) {}
  std::uint64_t next() { return splitmix64(state_++); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  std::uint64_t below(std::uint64_t n) {  // [0, n), n > 0 and far below 2^53
    return std::min(n - 1, static_cast<std::uint64_t>(uniform() * static_cast<double>(n)));
  }

 private:
  std::uint64_t state_;
};

enum Stream : std::uint64_t { kShuffle = 1, kItem = 2, kAugment = 3 };

// Epoch `epoch`'s order of excerpt slots: every track samples_per_track times, Fisher-Yates shuffled.
std::vector<std::uint32_t> epoch_order(std::uint64_t seed, std::int64_t epoch, std::size_t tracks, int samples_per_track) {
  std::vector<std::uint32_t> order(tracks * static_cast<std::size_t>(samples_per_track));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i % tracks);
  Rng rng(seed, kShuffle, static_cast<std::uint64_t>(epoch));
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

double rms(const float* planar, int channels, std::int64_t stride, std::int64_t frames) {
  double sum = 0;
  for (int c = 0; c < channels; ++c)
    for (std::int64_t i = 0; i < frames; ++i) sum += static_cast<double>(planar[c * stride + i]) * planar[c * stride + i];
  return std::sqrt(sum / static_cast<double>(channels * frames));
}

// The item's input augmentations, from their own stream: always the same eight draws in the same order, so
// turning one augmentation on or changing its settings moves none of the others (nor the excerpt's draws).
ItemAugmentation draw_augmentation(const LoaderOptions& o, std::int64_t slot, int channels) {
  Rng rng(o.seed, kAugment, static_cast<std::uint64_t>(slot));
  const double mono = rng.uniform(), tilt = rng.uniform(), slope = rng.uniform();
  const double resample = rng.uniform();
  const std::uint64_t rate = rng.below(std::max<std::size_t>(o.resample_rates.size(), 1));
  const double codec = rng.uniform();
  const std::uint64_t which = rng.below(std::max<std::size_t>(o.codecs.size(), 1));
  const std::uint64_t kbps =
      rng.below(static_cast<std::uint64_t>(std::max(o.codec_kbps_max - o.codec_kbps_min, 0)) + 1);
  // (The Loader checks the settings; make_excerpt_batch called directly still never indexes an empty list.)
  ItemAugmentation a;
  a.mono = channels == 2 && mono < o.mono_probability;
  if (tilt < o.tilt_probability) a.tilt_db_per_octave = static_cast<float>((2 * slope - 1) * o.tilt_db_per_octave_max);
  if (resample < o.resample_probability && !o.resample_rates.empty()) a.resample_rate = o.resample_rates[rate];
  if (codec < o.codec_probability && !o.codecs.empty()) {
    a.codec = o.codecs[which];
    a.codec_kbps = o.codec_kbps_min + static_cast<int>(kbps);
  }
  return a;
}

}  // namespace

std::shared_ptr<HostAllocator> default_host_allocator() {
  static const auto instance = std::make_shared<AlignedHostAllocator>();
  return instance;
}

// ---- batch contents ----

std::vector<std::size_t> Loader::eligible_tracks(const Cache& cache, const LoaderOptions& options) {
  const auto seq = static_cast<std::int64_t>(std::llround(options.seq_dur * cache.sample_rate()));
  std::vector<std::size_t> out;
  for (std::size_t i : cache.indices(options.split)) {
    const auto& t = cache.tracks()[i];
    if (t.bleed && !options.include_bleed) continue;
    if (options.mode == LoaderOptions::Mode::Excerpts && t.frames < seq) continue;
    out.push_back(i);
  }
  return out;
}

void Loader::make_excerpt_batch(const Cache& cache, const LoaderOptions& o, const std::vector<std::size_t>& tracks,
                                std::int64_t index, float* mix, float* target, std::vector<ExcerptInfo>& items) {
  const int channels = cache.channels();
  const auto seq = static_cast<std::int64_t>(std::llround(o.seq_dur * cache.sample_rate()));
  const std::size_t per_epoch = tracks.size() * static_cast<std::size_t>(o.samples_per_track);
  const std::int64_t item_stride = channels * seq;
  const int first = o.shard_size > 0 ? o.shard_offset : 0;
  const int count = o.shard_size > 0 ? o.shard_size : o.batch_size;
  items.assign(static_cast<std::size_t>(count), {});
  std::int64_t cached_epoch = -1;
  std::vector<std::uint32_t> order;

  for (int k = 0; k < count; ++k) {
    // Every draw is keyed by the item's place in the whole epoch, so a shard's items are the whole batch's.
    const std::int64_t slot = index * o.batch_size + first + k;
    const std::int64_t epoch = slot / static_cast<std::int64_t>(per_epoch);
    if (epoch != cached_epoch) {
      order = epoch_order(o.seed, epoch, tracks.size(), o.samples_per_track);
      cached_epoch = epoch;
    }
    const std::size_t target_pos = order[static_cast<std::size_t>(slot % static_cast<std::int64_t>(per_epoch))];
    Rng rng(o.seed, kItem, static_cast<std::uint64_t>(slot));
    ExcerptInfo& info = items[static_cast<std::size_t>(k)];
    info.target_track = tracks[target_pos];

    // Fixed draws first, so silence retries (drawn last) never shift them.
    std::size_t interferer_pos = target_pos;
    if (o.random_interferer_track) {
      interferer_pos = rng.below(tracks.size() - 1);
      if (interferer_pos >= target_pos) ++interferer_pos;
    }
    info.interferer_track = tracks[interferer_pos];
    const auto span = [&](std::size_t track) {
      return static_cast<std::uint64_t>(cache.tracks()[track].frames - seq + 1);
    };
    const auto interferer_start = static_cast<std::int64_t>(rng.below(span(info.interferer_track)));
    if (o.gain) {
      info.target_gain = static_cast<float>(o.gain_low + rng.uniform() * (o.gain_high - o.gain_low));
      info.interferer_gain = static_cast<float>(o.gain_low + rng.uniform() * (o.gain_high - o.gain_low));
    }
    if (o.channel_swap && channels == 2) {
      info.target_swapped = rng.uniform() < 0.5;
      info.interferer_swapped = rng.uniform() < 0.5;
    }

    // Each source is read once, already scaled and swapped: the target into its slot, then the mix as
    // that target plus the interferers.
    float* t = target + k * item_stride;
    float* m = mix + k * item_stride;
    for (int attempt = 0;; ++attempt) {
      info.target_start = static_cast<std::int64_t>(rng.below(span(info.target_track)));
      cache.read(info.target_track, Source::Target, info.target_start, seq, t, seq, info.target_gain, info.target_swapped);
      if (o.silence_threshold <= 0 || attempt >= o.silence_retries ||
          rms(t, channels, seq, seq) >= static_cast<double>(o.silence_threshold) * info.target_gain)
        break;
    }
    info.interferer_start = o.random_interferer_track ? interferer_start : info.target_start;
    std::copy(t, t + item_stride, m);
    cache.add(info.interferer_track, Source::Interferers, info.interferer_start, seq, m, seq, info.interferer_gain,
              info.interferer_swapped);
    info.augment = draw_augmentation(o, slot, channels);
    if (info.augment.any()) apply_augmentation(info.augment, m, t, channels, seq, seq, cache.sample_rate());
  }
}

std::string Loader::augmentation_problem(const LoaderOptions& o, int sample_rate) {
  const auto probability = [](double p) { return p >= 0 && p <= 1; };  // false for NaN
  if (!probability(o.mono_probability)) return "mono_probability must be in [0, 1]";
  if (!probability(o.tilt_probability)) return "tilt_probability must be in [0, 1]";
  if (!probability(o.resample_probability)) return "resample_probability must be in [0, 1]";
  if (!probability(o.codec_probability)) return "codec_probability must be in [0, 1]";
  if (!(o.tilt_db_per_octave_max >= 0 && o.tilt_db_per_octave_max <= kMaxTiltDbPerOctave))
    return "tilt_db_per_octave_max must be in [0, " + std::to_string(static_cast<int>(kMaxTiltDbPerOctave)) + "]";
  if (o.resample_probability > 0) {
    if (o.resample_rates.empty()) return "resample_rates is empty";
    for (int rate : o.resample_rates)
      if (std::string p = round_trip_problem(sample_rate, rate); !p.empty()) return "resample_rates: " + p;
  }
  if (o.codec_probability > 0) {
    if (o.codecs.empty()) return "codecs is empty";
    if (!(kMinCodecKbps <= o.codec_kbps_min && o.codec_kbps_min <= o.codec_kbps_max &&
          o.codec_kbps_max <= kMaxCodecKbps))
      return "codec bitrates must satisfy " + std::to_string(kMinCodecKbps) +
             " <= codec_kbps_min <= codec_kbps_max <= " + std::to_string(kMaxCodecKbps);
    for (Codec c : o.codecs)
      if (std::string p = codec_problem(c, sample_rate); !p.empty()) return "codecs: " + p;
  }
  return {};
}

// ---- threads and buffers ----

BatchLease::BatchLease(BatchLease&& other) noexcept : loader_(other.loader_), slot_(other.slot_), batch_(other.batch_) {
  other.loader_ = nullptr;
}

BatchLease& BatchLease::operator=(BatchLease&& other) noexcept {
  if (this != &other) {
    if (loader_) loader_->release(slot_);
    loader_ = other.loader_;
    slot_ = other.slot_;
    batch_ = other.batch_;
    other.loader_ = nullptr;
  }
  return *this;
}

BatchLease::~BatchLease() {
  if (loader_) loader_->release(slot_);
}

Loader::Loader(const Cache& cache, LoaderOptions options, std::shared_ptr<HostAllocator> allocator)
    : cache_(cache), options_(options), allocator_(std::move(allocator)) {
  const auto& o = options_;
  if (!allocator_) fail("loader", "no host allocator");
  if (o.workers < 1 || o.prefetch < 1) fail("loader", "workers and prefetch must be at least 1");
  if (o.mode == LoaderOptions::Mode::Excerpts) {
    if (!(o.seq_dur > 0) || o.batch_size < 1 || o.samples_per_track < 1)
      fail("loader", "seq_dur, batch_size and samples_per_track must be positive");
    if (!(0 <= o.gain_low && o.gain_low <= o.gain_high)) fail("loader", "gains must satisfy 0 <= gain_low <= gain_high");
    if (o.shard_size < 0 || o.shard_offset < 0 || o.shard_offset + o.shard_size > o.batch_size)
      fail("loader", "the shard must lie inside the batch");
    if (const std::string problem = augmentation_problem(o, cache_.sample_rate()); !problem.empty())
      fail("loader", problem);
  }
  seq_frames_ = static_cast<std::int64_t>(std::llround(o.seq_dur * cache_.sample_rate()));
  if (o.track_stride < 1 || o.track_offset < 0 || o.track_offset >= o.track_stride)
    fail("loader", "track_offset must be in [0, track_stride)");
  tracks_ = eligible_tracks(cache_, o);
  const std::string split(split_name(o.split));
  if (tracks_.empty())
    fail(cache_.dir(), "no " + split + " track" + (o.mode == LoaderOptions::Mode::Excerpts ? " is at least " + std::to_string(o.seq_dur) + " s long" : ""));
  if (o.mode == LoaderOptions::Mode::Excerpts && o.random_interferer_track && tracks_.size() < 2)
    fail(cache_.dir(), "interferers from another track need at least two " + split + " tracks");
  if (o.mode == LoaderOptions::Mode::WholeTracks && o.track_stride > 1) {
    std::vector<std::size_t> mine;
    for (std::size_t i = static_cast<std::size_t>(o.track_offset); i < tracks_.size(); i += o.track_stride)
      mine.push_back(tracks_[i]);
    tracks_ = std::move(mine);  // empty with more ranks than tracks: this one validates nothing
  }
  if (o.mode == LoaderOptions::Mode::WholeTracks)
    total_batches_ = static_cast<std::int64_t>(tracks_.size());
  else if (o.max_batches > 0)
    total_batches_ = o.max_batches;

  slots_.resize(static_cast<std::size_t>(o.prefetch) + 1);  // one leased, `prefetch` ready or filling
  if (o.mode == LoaderOptions::Mode::Excerpts)
    for (auto& s : slots_) ensure_capacity(s, 2 * static_cast<std::size_t>(items_per_batch() * cache_.channels() * seq_frames_));
  for (int w = 0; w < o.workers; ++w) workers_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  stop();
  for (auto& w : workers_) w.join();
  for (auto& s : slots_)
    if (s.memory) allocator_->deallocate(s.memory, s.capacity * sizeof(float));
}

std::int64_t Loader::batches_per_epoch() const {
  if (options_.mode == LoaderOptions::Mode::WholeTracks) return static_cast<std::int64_t>(tracks_.size());
  const auto excerpts = static_cast<std::int64_t>(tracks_.size()) * options_.samples_per_track;
  return (excerpts + options_.batch_size - 1) / options_.batch_size;
}

int Loader::items_per_batch() const { return options_.shard_size > 0 ? options_.shard_size : options_.batch_size; }

void Loader::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
}

void Loader::ensure_capacity(Slot& slot, std::size_t floats) {
  if (slot.capacity >= floats) return;
  if (slot.memory) allocator_->deallocate(slot.memory, slot.capacity * sizeof(float));
  slot.memory = nullptr;
  slot.capacity = 0;
  slot.memory = static_cast<float*>(allocator_->allocate(floats * sizeof(float)));
  slot.capacity = floats;
}

void Loader::fill(Slot& slot, std::int64_t index) {
  Batch& b = slot.batch;
  b.index = index;
  b.channels = cache_.channels();
  if (options_.mode == LoaderOptions::Mode::Excerpts) {
    b.batch_size = items_per_batch();
    b.global_batch_size = options_.batch_size;
    b.shard_offset = options_.shard_size > 0 ? options_.shard_offset : 0;
    b.samples = seq_frames_;
    const std::size_t half = static_cast<std::size_t>(b.batch_size * b.channels) * static_cast<std::size_t>(b.samples);
    b.mix = slot.memory;
    b.target = slot.memory + half;
    make_excerpt_batch(cache_, options_, tracks_, index, slot.memory, slot.memory + half, b.items);
    return;
  }
  // Whole track: no augmentation, mix = target + interferers.
  const std::size_t track = tracks_[static_cast<std::size_t>(index)];
  const std::int64_t frames = cache_.tracks()[track].frames;
  const std::size_t half = static_cast<std::size_t>(b.channels) * static_cast<std::size_t>(frames);
  ensure_capacity(slot, 2 * half);
  b.batch_size = b.global_batch_size = 1;
  b.shard_offset = 0;
  b.samples = frames;
  float* mix = slot.memory;
  float* target = slot.memory + half;
  b.mix = mix;
  b.target = target;
  cache_.read(track, Source::Target, 0, frames, target, frames);
  cache_.read(track, Source::Interferers, 0, frames, mix, frames);
  for (std::size_t i = 0; i < half; ++i) mix[i] += target[i];
  ExcerptInfo whole;
  whole.target_track = whole.interferer_track = track;
  b.items.assign(1, whole);
}

void Loader::worker_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    // Take the next batch number once its ring slot is free (the consumer has released batch index - slots).
    changed_.wait(lock, [&] {
      if (stopping_ || error_ || (total_batches_ >= 0 && next_to_claim_ >= total_batches_)) return true;
      return slots_[static_cast<std::size_t>(next_to_claim_) % slots_.size()].state == Slot::State::Free;
    });
    if (stopping_ || error_ || (total_batches_ >= 0 && next_to_claim_ >= total_batches_)) return;
    const std::int64_t index = next_to_claim_++;
    Slot& slot = slots_[static_cast<std::size_t>(index) % slots_.size()];
    slot.state = Slot::State::Filling;
    slot.index = index;
    lock.unlock();
    try {
      fill(slot, index);
    } catch (...) {
      lock.lock();
      if (!error_) error_ = std::current_exception();
      changed_.notify_all();
      return;
    }
    lock.lock();
    slot.state = Slot::State::Ready;
    changed_.notify_all();
  }
}

std::optional<BatchLease> Loader::next() {
  std::unique_lock lock(mutex_);
  if (total_batches_ >= 0 && next_to_deliver_ >= total_batches_) return std::nullopt;
  const std::size_t s = static_cast<std::size_t>(next_to_deliver_) % slots_.size();
  changed_.wait(lock, [&] {
    return stopping_ || error_ || (slots_[s].state == Slot::State::Ready && slots_[s].index == next_to_deliver_);
  });
  if (error_) std::rethrow_exception(error_);
  if (stopping_) return std::nullopt;
  slots_[s].state = Slot::State::Leased;
  ++next_to_deliver_;
  return BatchLease(this, s, &slots_[s].batch);
}

void Loader::release(std::size_t slot) {
  {
    std::lock_guard lock(mutex_);
    slots_[slot].state = Slot::State::Free;
  }
  changed_.notify_all();
}

}  // namespace unmix::data
