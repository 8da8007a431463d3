// The excerpt loader: openunmix's augmentations as stated (statistical checks with fixed seeds), the batch
// contents recomputed from the cache, determinism whatever the worker count, whole-track validation,
// silence skipping, the pluggable allocator and clean shutdown.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "test_dataset_corpus.h"
#include "test_support.h"
#include "unmix/data/loader.h"
#include "unmix/data/preprocess.h"
#include "unmix/error.h"

using namespace unmix;
using namespace unmix::data;
namespace fs = std::filesystem;

namespace {

constexpr int kRate = 8000;
constexpr int kTracks = 8;

// Eight 3-second songs by eight artists at 8 kHz; one train track's guitar is silent for its first 2.4 s.
class LoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(test::temp_dir("loader-corpus"));
    dir_ = new fs::path(test::temp_dir("loader-cache"));
    for (int i = 0; i < kTracks; ++i) {
      const std::string id = "Song" + std::to_string(i);
      const auto seed = static_cast<std::uint64_t>(10 * i);
      test::write_track(*root_, {id, "Artist" + std::to_string(i), false, 3.0, kRate, true,
                                 {{"acoustic guitar", 3.0, 2, kRate, true, true, seed + 1},
                                  {"drum set", 3.0, 2, kRate, true, true, seed + 2},
                                  {"electric bass", 3.0, 2, kRate, true, true, seed + 3}}});
    }
    ManifestOptions o;
    o.name = "guitar";
    o.target_labels = {"acoustic guitar"};
    o.split.valid_fraction = 0.25;
    o.split.test_fraction = 0;
    const Manifest m = build_manifest(scan_root(*root_), o);
    quiet_id_ = new std::string(m.tracks_in(Split::Train).front()->id);
    Audio quiet = test::test_signal(3.0, 2, kRate, 31);
    for (int c = 0; c < 2; ++c) std::fill(quiet.channel(c), quiet.channel(c) + static_cast<std::int64_t>(2.4 * kRate), 0.f);
    write_audio(*root_ / *quiet_id_ / (*quiet_id_ + "_STEMS") / (*quiet_id_ + "_STEM_01.wav"), quiet, SampleFormat::Float32);
    PreprocessOptions p;
    p.read.sample_rate = kRate;
    p.statistics = false;
    p.threads = 2;
    preprocess(m, *root_, *dir_, p);
    cache_ = new Cache(Cache::open(*dir_));
  }
  static void TearDownTestSuite() {
    delete cache_;
    fs::remove_all(*root_);
    fs::remove_all(*dir_);
    delete root_;
    delete dir_;
    delete quiet_id_;
  }
  static LoaderOptions excerpt_options() {
    LoaderOptions o;
    o.seq_dur = 0.25;
    o.batch_size = 16;
    o.samples_per_track = 8;
    o.seed = 1234;
    return o;
  }
  static const Cache& cache() { return *cache_; }

  static fs::path* root_;
  static fs::path* dir_;
  static Cache* cache_;
  static std::string* quiet_id_;  // a train track whose guitar is silent for its first 2.4 s
};
std::string* LoaderTest::quiet_id_ = nullptr;
fs::path* LoaderTest::root_ = nullptr;
fs::path* LoaderTest::dir_ = nullptr;
Cache* LoaderTest::cache_ = nullptr;

double rms(const float* x, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return std::sqrt(s / static_cast<double>(n));
}

struct Owned {
  std::vector<float> mix, target;
  std::vector<ExcerptInfo> items;
};

Owned make(const Cache& cache, const LoaderOptions& o, std::int64_t index) {
  const auto tracks = Loader::eligible_tracks(cache, o);
  const std::size_t n = static_cast<std::size_t>(o.batch_size * cache.channels()) *
                        static_cast<std::size_t>(std::llround(o.seq_dur * cache.sample_rate()));
  Owned b{std::vector<float>(n), std::vector<float>(n), {}};
  Loader::make_excerpt_batch(cache, o, tracks, index, b.mix.data(), b.target.data(), b.items);
  return b;
}

}  // namespace

TEST_F(LoaderTest, AugmentationsFollowOpenUnmix) {
  const LoaderOptions o = excerpt_options();
  const auto train = Loader::eligible_tracks(cache(), o);
  ASSERT_EQ(train.size(), 6u);
  const std::int64_t seq = 2000;
  std::vector<double> gains;
  int swaps_target = 0, swaps_interferer = 0, items = 0;
  std::vector<float> expect(2 * seq);
  for (std::int64_t b = 0; b < 150; ++b) {
    const Owned batch = make(cache(), o, b);
    for (int k = 0; k < o.batch_size; ++k, ++items) {
      const ExcerptInfo& e = batch.items[static_cast<std::size_t>(k)];
      ASSERT_NE(e.target_track, e.interferer_track);
      ASSERT_EQ(cache().tracks()[e.target_track].split, Split::Train);
      ASSERT_EQ(cache().tracks()[e.interferer_track].split, Split::Train);
      ASSERT_GE(e.target_gain, 0.25f);
      ASSERT_LE(e.target_gain, 1.25f);
      ASSERT_GE(e.interferer_gain, 0.25f);
      ASSERT_LE(e.interferer_gain, 1.25f);
      ASSERT_LE(e.target_start + seq, cache().tracks()[e.target_track].frames);
      ASSERT_LE(e.interferer_start + seq, cache().tracks()[e.interferer_track].frames);
      gains.push_back(e.target_gain);
      gains.push_back(e.interferer_gain);
      swaps_target += e.target_swapped;
      swaps_interferer += e.interferer_swapped;
      if (b >= 10) continue;
      // The audio is what the record says: target = g_t * swap(excerpt), mix - target = g_i * swap(excerpt).
      const float* t = batch.target.data() + k * 2 * seq;
      const float* m = batch.mix.data() + k * 2 * seq;
      cache().read(e.target_track, Source::Target, e.target_start, seq, expect.data(), seq);
      for (int c = 0; c < 2; ++c)
        for (std::int64_t i = 0; i < seq; ++i)
          ASSERT_NEAR(t[c * seq + i], e.target_gain * expect[(e.target_swapped ? 1 - c : c) * seq + i], 1e-6f);
      cache().read(e.interferer_track, Source::Interferers, e.interferer_start, seq, expect.data(), seq);
      for (int c = 0; c < 2; ++c)
        for (std::int64_t i = 0; i < seq; ++i)
          ASSERT_NEAR(m[c * seq + i] - t[c * seq + i], e.interferer_gain * expect[(e.interferer_swapped ? 1 - c : c) * seq + i], 1e-6f);
    }
  }
  // Uniform on [0.25, 1.25]: mean 0.75, a quarter below 0.5 (4800 draws: standard errors 0.004 and 0.006).
  double mean = 0;
  int below_half = 0;
  for (double g : gains) {
    mean += g;
    below_half += g < 0.5;
  }
  mean /= static_cast<double>(gains.size());
  EXPECT_NEAR(mean, 0.75, 0.02);
  EXPECT_NEAR(static_cast<double>(below_half) / static_cast<double>(gains.size()), 0.25, 0.03);
  // Swaps with p = 0.5 (2400 items each: standard error 0.01).
  EXPECT_NEAR(static_cast<double>(swaps_target) / items, 0.5, 0.04);
  EXPECT_NEAR(static_cast<double>(swaps_interferer) / items, 0.5, 0.04);
}

TEST_F(LoaderTest, EachEpochVisitsEveryTrackSamplesPerTrackTimes) {
  LoaderOptions o = excerpt_options();
  o.samples_per_track = 4;  // 6 tracks * 4 = 24 excerpts = 1.5 batches of 16
  o.batch_size = 8;         // 3 batches per epoch
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::map<std::size_t, int> visits;
    for (int b = 0; b < 3; ++b)
      for (const auto& e : make(cache(), o, epoch * 3 + b).items) ++visits[e.target_track];
    ASSERT_EQ(visits.size(), 6u);
    for (const auto& [track, count] : visits) EXPECT_EQ(count, 4) << "epoch " << epoch << " track " << track;
  }
  // The order differs between epochs.
  EXPECT_NE(make(cache(), o, 0).items[0].target_start, make(cache(), o, 3).items[0].target_start);
}

TEST_F(LoaderTest, SameSeedSameBatchesWhateverTheWorkers) {
  LoaderOptions one = excerpt_options();
  one.workers = 1;
  one.prefetch = 1;
  one.max_batches = 12;
  LoaderOptions many = one;
  many.workers = 3;
  many.prefetch = 4;
  Loader a(cache(), one), b(cache(), many);
  const std::size_t n = static_cast<std::size_t>(16 * 2 * 2000);
  for (std::int64_t i = 0; i < 12; ++i) {
    auto x = a.next();
    auto y = b.next();
    ASSERT_TRUE(x && y);
    ASSERT_EQ((*x)->index, i);
    ASSERT_EQ((*y)->index, i);
    EXPECT_EQ(std::memcmp((*x)->mix, (*y)->mix, n * sizeof(float)), 0) << "batch " << i;
    EXPECT_EQ(std::memcmp((*x)->target, (*y)->target, n * sizeof(float)), 0) << "batch " << i;
    const Owned direct = make(cache(), one, i);
    EXPECT_EQ(std::memcmp((*x)->mix, direct.mix.data(), n * sizeof(float)), 0) << "batch " << i;
  }
  EXPECT_FALSE(a.next());  // max_batches reached
  EXPECT_FALSE(b.next());

  LoaderOptions other = excerpt_options();
  other.seed = 99;
  EXPECT_NE(make(cache(), other, 0).mix, make(cache(), excerpt_options(), 0).mix);
}

TEST_F(LoaderTest, SilenceSkippingRedrawsQuietTargets) {
  std::size_t quiet_track = cache().tracks().size();
  for (std::size_t i = 0; i < cache().tracks().size(); ++i)
    if (cache().tracks()[i].id == *quiet_id_) quiet_track = i;
  ASSERT_LT(quiet_track, cache().tracks().size());
  auto quiet_excerpts = [&](float threshold) {
    LoaderOptions o = excerpt_options();
    o.silence_threshold = threshold;
    o.silence_retries = 50;
    int quiet = 0, total = 0;
    for (std::int64_t b = 0; b < 40; ++b) {
      const Owned batch = make(cache(), o, b);
      for (std::size_t k = 0; k < batch.items.size(); ++k)
        if (batch.items[k].target_track == quiet_track) {
          ++total;
          quiet += rms(batch.target.data() + k * 4000, 4000) < 1e-3;
        }
    }
    EXPECT_GT(total, 50);
    return static_cast<double>(quiet) / total;
  };
  EXPECT_GT(quiet_excerpts(0.f), 0.5);  // about 3/4 of the starts fall into the silent part
  EXPECT_EQ(quiet_excerpts(0.01f), 0.0);
}

TEST_F(LoaderTest, WholeTrackModeYieldsEachValidTrackOnce) {
  LoaderOptions o;
  o.mode = LoaderOptions::Mode::WholeTracks;
  o.split = Split::Valid;
  Loader loader(cache(), o);
  const auto expected = cache().indices(Split::Valid);
  ASSERT_EQ(expected.size(), 2u);
  for (std::size_t k : expected) {
    auto batch = loader.next();
    ASSERT_TRUE(batch);
    const CachedTrack& t = cache().tracks()[k];
    ASSERT_EQ((*batch)->batch_size, 1);
    ASSERT_EQ((*batch)->samples, t.frames);
    ASSERT_EQ((*batch)->items[0].target_track, k);
    std::vector<float> target(2 * static_cast<std::size_t>(t.frames)), interferers(target.size());
    cache().read(k, Source::Target, 0, t.frames, target.data(), t.frames);
    cache().read(k, Source::Interferers, 0, t.frames, interferers.data(), t.frames);
    for (std::size_t i = 0; i < target.size(); ++i) {
      ASSERT_EQ((*batch)->target[i], target[i]);
      ASSERT_EQ((*batch)->mix[i], target[i] + interferers[i]);
    }
  }
  EXPECT_FALSE(loader.next());
  EXPECT_FALSE(loader.next());
}

namespace {
class CountingAllocator final : public HostAllocator {
 public:
  void* allocate(std::size_t bytes) override {
    ++allocations;
    outstanding += bytes;
    return ::operator new(bytes);
  }
  void deallocate(void* p, std::size_t bytes) noexcept override {
    outstanding -= bytes;
    ::operator delete(p);
  }
  std::atomic<int> allocations{0};
  std::atomic<std::size_t> outstanding{0};
};
}  // namespace

TEST_F(LoaderTest, BuffersComeFromTheAllocatorAndGoBack) {
  auto allocator = std::make_shared<CountingAllocator>();
  {
    LoaderOptions o = excerpt_options();
    o.prefetch = 3;
    Loader loader(cache(), o, allocator);
    EXPECT_EQ(allocator->allocations, 4);  // prefetch + the one being consumed
    EXPECT_EQ(allocator->outstanding, 4u * 2 * 16 * 2 * 2000 * sizeof(float));
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(loader.next());
  }
  EXPECT_EQ(allocator->outstanding, 0u);
}

TEST_F(LoaderTest, StopsCleanlyAndRejectsBadSetups) {
  {
    LoaderOptions o = excerpt_options();
    o.workers = 2;
    Loader loader(cache(), o);
    auto first = loader.next();
    ASSERT_TRUE(first);
    // Workers are now blocked on a full ring; destruction must still be prompt.
  }
  {
    Loader loader(cache(), excerpt_options());
    loader.stop();
    EXPECT_FALSE(loader.next());
  }
  LoaderOptions too_long = excerpt_options();
  too_long.seq_dur = 10;
  EXPECT_THROW(Loader(cache(), too_long), Error);
  LoaderOptions one_track = excerpt_options();
  one_track.split = Split::Valid;  // two tracks: fine
  EXPECT_NO_THROW(Loader(cache(), one_track));
  one_track.split = Split::Test;  // none
  EXPECT_THROW(Loader(cache(), one_track), Error);
  LoaderOptions bad = excerpt_options();
  bad.gain_low = 2;
  EXPECT_THROW(Loader(cache(), bad), Error);
}

// ---- input augmentations (the transforms themselves: test_augment.cpp) ----

namespace {

LoaderOptions all_augmentations_off_but_configured(LoaderOptions o) {
  o.tilt_db_per_octave_max = 5;
  o.resample_rates = {16000, 12000};
  o.codecs = {Codec::Opus};
  o.codec_kbps_min = 8;
  o.codec_kbps_max = 9;
  return o;
}

// The lag at which y best matches x (y[i + lag] ~ x[i]): normalized cross-correlation peak.
int best_lag(const float* x, const float* y, std::int64_t frames, int max_lag) {
  int best = 0;
  double best_value = -INFINITY;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    double sum = 0, energy = 0;
    for (std::int64_t i = max_lag; i < frames - max_lag; ++i) {
      sum += static_cast<double>(x[i]) * y[i + lag];
      energy += static_cast<double>(y[i + lag]) * y[i + lag];
    }
    const double value = energy > 0 ? sum / std::sqrt(energy) : 0;
    if (value > best_value) {
      best_value = value;
      best = lag;
    }
  }
  return best;
}

}  // namespace

TEST_F(LoaderTest, AugmentationsOffLeaveTheBatchesAsTheyWere) {
  // Probability 0 is off whatever the other settings: the same bytes as the plain options, which
  // AugmentationsFollowOpenUnmix checks against the cache, and nothing recorded.
  const LoaderOptions plain = excerpt_options();
  const LoaderOptions off = all_augmentations_off_but_configured(plain);
  for (std::int64_t b = 0; b < 8; ++b) {
    const Owned x = make(cache(), plain, b), y = make(cache(), off, b);
    EXPECT_EQ(x.mix, y.mix) << "batch " << b;
    EXPECT_EQ(x.target, y.target) << "batch " << b;
    for (const ExcerptInfo& e : y.items) EXPECT_FALSE(e.augment.any());
  }
}

TEST_F(LoaderTest, EachAugmentationChangesWhatItShould) {
  const LoaderOptions plain = excerpt_options();
  const std::int64_t seq = 2000;
  const auto item = [&](const std::vector<float>& v, std::size_t k) {
    return std::vector<float>(v.begin() + static_cast<std::ptrdiff_t>(k * 2 * seq),
                              v.begin() + static_cast<std::ptrdiff_t>((k + 1) * 2 * seq));
  };
  for (int which = 0; which < 4; ++which) {
    LoaderOptions o = plain;
    (which == 0 ? o.mono_probability : which == 1 ? o.tilt_probability : which == 2 ? o.resample_probability
                                                                                    : o.codec_probability) = 1;
    constexpr std::array<const char*, 4> kNames = {"mono", "tilt", "resample", "codec"};
    SCOPED_TRACE(kNames[static_cast<std::size_t>(which)]);
    for (std::int64_t b = 0; b < 3; ++b) {
      const Owned base = make(cache(), plain, b), aug = make(cache(), o, b);
      for (std::size_t k = 0; k < aug.items.size(); ++k) {
        const ExcerptInfo& e = aug.items[k];
        // The excerpt itself is drawn as without augmentation.
        ASSERT_EQ(e.target_start, base.items[k].target_start);
        ASSERT_EQ(e.interferer_gain, base.items[k].interferer_gain);
        const std::vector<float> t0 = item(base.target, k), m0 = item(base.mix, k);
        std::vector<float> t = item(aug.target, k), m = item(aug.mix, k);
        std::vector<float> expect_t = t0, expect_m = m0;
        if (which == 0) {
          ASSERT_TRUE(e.augment.mono);
          for (std::int64_t i = 0; i < seq; ++i) {
            ASSERT_EQ(t[static_cast<std::size_t>(i)], t[static_cast<std::size_t>(seq + i)]) << "target L == R";
            ASSERT_EQ(m[static_cast<std::size_t>(i)], m[static_cast<std::size_t>(seq + i)]) << "mix L == R";
          }
          fold_to_mono(expect_t.data(), 2, seq, seq);
          fold_to_mono(expect_m.data(), 2, seq, seq);
          EXPECT_EQ(t, expect_t);
          EXPECT_EQ(m, expect_m);
        } else if (which == 1) {
          ASSERT_NE(e.augment.tilt_db_per_octave, 0.f);
          ASSERT_LE(std::abs(e.augment.tilt_db_per_octave), 1.f);
          // Mix and target through the same tilt (the target is the guitar as it sounds in that mix).
          apply_tilt(expect_t.data(), 2, seq, seq, kRate, e.augment.tilt_db_per_octave);
          apply_tilt(expect_m.data(), 2, seq, seq, kRate, e.augment.tilt_db_per_octave);
          EXPECT_LT(test::rel_error(t, expect_t), 1e-6);
          EXPECT_LT(test::rel_error(m, expect_m), 1e-6);
          if (rms(t0.data(), t0.size()) > 0) {  // (the quiet track's target may be silent)
            EXPECT_GT(test::rel_error(t, t0), 1e-3);
          }
        } else {
          // The mix only: the target stays the clean target, bit for bit.
          EXPECT_EQ(t, t0);
          if (which == 2) {
            ASSERT_EQ(e.augment.resample_rate, 48000);
            resample_round_trip(expect_m.data(), 2, seq, seq, kRate, 48000);
          } else {
            ASSERT_NE(e.augment.codec, Codec::None);
            ASSERT_GE(e.augment.codec_kbps, 64);
            ASSERT_LE(e.augment.codec_kbps, 192);
            codec_round_trip(expect_m.data(), 2, seq, seq, kRate, e.augment.codec, e.augment.codec_kbps);
          }
          EXPECT_EQ(m, expect_m);
          const double err = test::rel_error(m, m0);
          EXPECT_GT(err, 1e-4);
          EXPECT_LT(err, 0.7);
          for (int c = 0; c < 2; ++c) EXPECT_EQ(best_lag(m0.data() + c * seq, m.data() + c * seq, seq, 100), 0);
        }
      }
    }
  }
}

TEST_F(LoaderTest, AugmentationDrawsFollowTheirProbabilities) {
  LoaderOptions o = excerpt_options();
  o.mono_probability = 0.3;
  o.tilt_probability = 0.5;
  o.tilt_db_per_octave_max = 2;
  int items = 0, mono = 0, tilted = 0, steep = 0;
  double mean_tilt = 0;
  for (std::int64_t b = 0; b < 100; ++b)
    for (const ExcerptInfo& e : make(cache(), o, b).items) {
      ++items;
      mono += e.augment.mono;
      if (e.augment.tilt_db_per_octave != 0) {
        ++tilted;
        mean_tilt += e.augment.tilt_db_per_octave;
        steep += std::abs(e.augment.tilt_db_per_octave) > 1;
        ASSERT_LE(std::abs(e.augment.tilt_db_per_octave), 2.f);
      }
      ASSERT_EQ(e.augment.resample_rate, 0);
      ASSERT_EQ(e.augment.codec, Codec::None);
    }
  // 1600 items: standard errors 0.011 (mono), 0.0125 (tilt); the slope is uniform in [-2, 2].
  EXPECT_NEAR(static_cast<double>(mono) / items, 0.3, 0.04);
  EXPECT_NEAR(static_cast<double>(tilted) / items, 0.5, 0.04);
  EXPECT_NEAR(mean_tilt / tilted, 0.0, 0.15);
  EXPECT_NEAR(static_cast<double>(steep) / tilted, 0.5, 0.06);

  // Codecs and rates are drawn uniformly from their lists, bitrates uniformly from their range.
  LoaderOptions c = excerpt_options();
  c.codec_probability = 1;
  c.codecs = {Codec::Mp3, Codec::Opus};
  c.codec_kbps_min = 32;
  c.codec_kbps_max = 96;
  c.resample_probability = 1;
  c.resample_rates = {48000, 16000};
  std::map<Codec, int> codecs;
  std::map<int, int> rates;
  std::set<int> kbps;
  for (std::int64_t b = 0; b < 12; ++b)
    for (const ExcerptInfo& e : make(cache(), c, b).items) {
      ++codecs[e.augment.codec];
      ++rates[e.augment.resample_rate];
      kbps.insert(e.augment.codec_kbps);
    }
  EXPECT_EQ(codecs.size(), 2u);
  EXPECT_NEAR(codecs[Codec::Mp3] / 192.0, 0.5, 0.12);
  EXPECT_EQ(rates.size(), 2u);
  EXPECT_NEAR(rates[48000] / 192.0, 0.5, 0.12);
  EXPECT_GE(*kbps.begin(), 32);
  EXPECT_LE(*kbps.rbegin(), 96);
  EXPECT_GT(kbps.size(), 40u);
}

TEST_F(LoaderTest, AugmentedBatchesAreTheSameWhateverTheWorkers) {
  LoaderOptions one = excerpt_options();
  one.mono_probability = one.tilt_probability = one.resample_probability = one.codec_probability = 0.5;
  one.workers = 1;
  one.prefetch = 1;
  one.max_batches = 6;
  LoaderOptions many = one;
  many.workers = 3;
  many.prefetch = 4;
  Loader a(cache(), one), b(cache(), many);
  const std::size_t n = static_cast<std::size_t>(16 * 2 * 2000);
  for (std::int64_t i = 0; i < 6; ++i) {
    auto x = a.next();
    auto y = b.next();
    ASSERT_TRUE(x && y);
    EXPECT_EQ(std::memcmp((*x)->mix, (*y)->mix, n * sizeof(float)), 0) << "batch " << i;
    EXPECT_EQ(std::memcmp((*x)->target, (*y)->target, n * sizeof(float)), 0) << "batch " << i;
    const Owned direct = make(cache(), one, i);
    EXPECT_EQ(std::memcmp((*x)->mix, direct.mix.data(), n * sizeof(float)), 0) << "batch " << i;
    EXPECT_EQ(std::memcmp((*x)->target, direct.target.data(), n * sizeof(float)), 0) << "batch " << i;
  }
}

TEST_F(LoaderTest, BadAugmentationSettingsAreRejected) {
  const auto message = [&](const LoaderOptions& o) {
    try {
      Loader loader(cache(), o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  LoaderOptions o = excerpt_options();
  o.codec_probability = 1.5;
  EXPECT_EQ(message(o), "loader: codec_probability must be in [0, 1]");
  o = excerpt_options();
  o.mono_probability = std::nan("");
  EXPECT_EQ(message(o), "loader: mono_probability must be in [0, 1]");
  o = excerpt_options();
  o.tilt_db_per_octave_max = 7;
  EXPECT_EQ(message(o), "loader: tilt_db_per_octave_max must be in [0, 6]");
  o = excerpt_options();
  o.codec_probability = 0.5;
  o.codec_kbps_max = 400;
  EXPECT_EQ(message(o), "loader: codec bitrates must satisfy 8 <= codec_kbps_min <= codec_kbps_max <= 320");
  o.codec_kbps_max = 192;
  o.codecs.clear();
  EXPECT_EQ(message(o), "loader: codecs is empty");
  o = excerpt_options();
  o.resample_probability = 0.5;
  o.resample_rates = {44101};
  EXPECT_NE(message(o).find("loader: resample_rates: 8000 Hz <-> 44101 Hz"), std::string::npos) << message(o);
  o.resample_rates = {8000};
  EXPECT_EQ(message(o), "loader: resample_rates: the intermediate rate 8000 Hz is the audio's own rate");
  // Settings of an augmentation that is off are not checked.
  o.resample_probability = 0;
  EXPECT_EQ(message(o), "accepted");
}

// Data parallelism: the shards of a batch, side by side, are the whole batch bit for bit (augmentations on,
// so every per-item stream is exercised), and the whole-track shards split the valid tracks between them.
TEST_F(LoaderTest, ShardsOfABatchAreTheWholeBatch) {
  LoaderOptions whole = excerpt_options();
  whole.batch_size = 7;
  whole.tilt_probability = 0.5;
  whole.mono_probability = 0.5;
  whole.workers = 2;
  whole.max_batches = 3;
  const std::size_t item = static_cast<std::size_t>(cache().channels()) *
                           static_cast<std::size_t>(std::llround(whole.seq_dur * cache().sample_rate()));
  Loader all(cache(), whole);
  std::vector<std::unique_ptr<Loader>> shards;
  const int bounds[] = {0, 3, 5, 7};  // uneven shards of 3, 2 and 2 items
  for (int s = 0; s < 3; ++s) {
    LoaderOptions o = whole;
    o.shard_offset = bounds[s];
    o.shard_size = bounds[s + 1] - bounds[s];
    shards.push_back(std::make_unique<Loader>(cache(), o));
  }
  for (std::int64_t i = 0; i < 3; ++i) {
    auto x = all.next();
    ASSERT_TRUE(x);
    for (int s = 0; s < 3; ++s) {
      auto y = shards[s]->next();
      ASSERT_TRUE(y);
      ASSERT_EQ((*y)->batch_size, bounds[s + 1] - bounds[s]);
      ASSERT_EQ((*y)->global_batch_size, 7);
      ASSERT_EQ((*y)->shard_offset, bounds[s]);
      const std::size_t offset = static_cast<std::size_t>(bounds[s]) * item;
      const std::size_t n = static_cast<std::size_t>((*y)->batch_size) * item;
      EXPECT_EQ(std::memcmp((*x)->mix + offset, (*y)->mix, n * sizeof(float)), 0) << "batch " << i << " shard " << s;
      EXPECT_EQ(std::memcmp((*x)->target + offset, (*y)->target, n * sizeof(float)), 0) << "batch " << i;
      for (int k = 0; k < (*y)->batch_size; ++k)
        EXPECT_EQ((*y)->items[k].target_start, (*x)->items[bounds[s] + k].target_start);
    }
  }
  LoaderOptions outside = whole;
  outside.shard_offset = 5;
  outside.shard_size = 3;
  EXPECT_THROW({ Loader rejected(cache(), outside); }, unmix::Error);

  LoaderOptions valid;
  valid.mode = LoaderOptions::Mode::WholeTracks;
  valid.split = Split::Valid;
  valid.track_stride = 2;
  const auto expected = cache().indices(Split::Valid);
  for (int r = 0; r < 2; ++r) {
    valid.track_offset = r;
    Loader loader(cache(), valid);
    auto t = loader.next();
    ASSERT_TRUE(t);
    EXPECT_EQ((*t)->items[0].target_track, expected[static_cast<std::size_t>(r)]);
    EXPECT_FALSE(loader.next());
  }
  valid.track_stride = 3;  // more ranks than tracks: the last one validates nothing
  valid.track_offset = 2;
  EXPECT_FALSE(Loader(cache(), valid).next());
}
