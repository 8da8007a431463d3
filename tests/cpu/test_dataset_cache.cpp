// Preprocessing into the training cache: contents equal the reader's, statistics equal a direct
// computation, resume/rebuild, interruption, strict mode, int16, damaged caches and non-finite samples.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <sstream>

#include "test_dataset_corpus.h"
#include "test_support.h"
#include "unmix/data/preprocess.h"
#include "unmix/error.h"
#include "unmix/statistics.h"
#include "unmix/stft.h"

using namespace unmix;
using namespace unmix::data;
namespace fs = std::filesystem;

namespace {

// Six short songs by four artists; track 5's guitar stem is missing, so it cannot be cached.
struct CacheCorpus {
  fs::path root = test::temp_dir("cache-corpus");
  fs::path cache = test::temp_dir("cache-out");
  Manifest manifest;

  CacheCorpus() {
    for (int i = 0; i < 6; ++i) {
      const std::string id = "Song" + std::to_string(i);
      const auto seed = static_cast<std::uint64_t>(100 * i);
      test::write_track(root, {id, "Artist" + std::to_string(i % 4), i == 2, 0.6 + 0.05 * i, 44100, true,
                               {{"acoustic guitar", 0.6 + 0.05 * i, 2, 44100, i != 5, true, seed + 1},
                                {"drum set", 0.6 + 0.05 * i, 2, 44100, true, true, seed + 2},
                                {"electric bass", 0.6 + 0.05 * i, 1, 44100, true, false, seed + 3}}});
    }
    ManifestOptions o;
    o.name = "guitar";
    o.target_labels = {"acoustic guitar"};
    o.split.valid_fraction = 0.25;
    o.split.test_fraction = 0;
    o.split.bleed = BleedPolicy::Keep;
    manifest = build_manifest(scan_root(root), o);
  }
  ~CacheCorpus() {
    fs::remove_all(root);
    fs::remove_all(cache);
  }
  PreprocessOptions options() const {
    PreprocessOptions p;
    p.threads = 2;
    return p;
  }
};

}  // namespace

TEST(Preprocess, CacheHoldsWhatTheReaderReadsAndTheTrainStatistics) {
  CacheCorpus c;
  const PreprocessReport report = preprocess(c.manifest, c.root, c.cache, c.options());
  EXPECT_FALSE(report.interrupted);
  EXPECT_EQ(report.written, 5u);
  EXPECT_EQ(report.skipped, 1u);  // Song5 has no readable target
  EXPECT_TRUE(std::any_of(report.issues.begin(), report.issues.end(), [](const FileIssue& i) {
    return i.kind == IssueKind::Missing && i.file.filename() == "Song5_STEM_01.wav";
  }));

  const Cache cache = Cache::open(c.cache);
  ASSERT_EQ(cache.tracks().size(), 5u);
  EXPECT_EQ(cache.sample_rate(), 44100);
  EXPECT_EQ(cache.channels(), 2);
  const TrackReader reader(c.root, {});
  std::size_t train_tracks = 0;
  for (std::size_t k = 0; k < cache.tracks().size(); ++k) {
    const CachedTrack& ct = cache.tracks()[k];
    const ManifestTrack* mt = c.manifest.find(ct.id);
    ASSERT_NE(mt, nullptr);
    EXPECT_EQ(ct.split, mt->split);
    EXPECT_EQ(ct.bleed, mt->bleed);
    train_tracks += ct.split == Split::Train;
    const TrackAudio expected = reader.read(*mt);
    ASSERT_EQ(ct.frames, expected.target.frames);
    std::vector<float> target(2 * static_cast<std::size_t>(ct.frames)), interferers(target.size());
    cache.read(k, Source::Target, 0, ct.frames, target.data(), ct.frames);
    cache.read(k, Source::Interferers, 0, ct.frames, interferers.data(), ct.frames);
    EXPECT_EQ(target, expected.target.samples) << ct.id;
    EXPECT_EQ(interferers, expected.interferers.samples) << ct.id;
    // An excerpt running past the end reads zeros there.
    std::vector<float> tail(2 * 100);
    cache.read(k, Source::Target, ct.frames - 60, 100, tail.data(), 100);
    EXPECT_EQ(tail[59], expected.target.channel(0)[ct.frames - 1]);
    EXPECT_EQ(tail[60], 0.f);
    EXPECT_EQ(tail[199], 0.f);
  }
  ASSERT_GT(train_tracks, 0u);
  ASSERT_LT(train_tracks, 5u);

  // Statistics: BinStatistics over the full train mixes (target + interferers), STFT center=false.
  ASSERT_TRUE(cache.has_statistics());
  const CacheStatistics& s = cache.statistics();
  const Stft stft(4096, 1024);
  BinStatistics direct(stft.bins());
  for (std::size_t k : cache.indices(Split::Train)) {
    const TrackAudio a = reader.read(*c.manifest.find(cache.tracks()[k].id));
    std::vector<float> mix(a.target.samples);
    for (std::size_t i = 0; i < mix.size(); ++i) mix[i] += a.interferers.samples[i];
    direct.add(stft.forward(mix.data(), 2, a.target.frames, false));
  }
  EXPECT_EQ(s.frames, direct.frames());
  EXPECT_LT(test::rel_error(s.mean, direct.mean()), 1e-6);
  EXPECT_LT(test::rel_error(s.std, direct.std()), 1e-6);

  // Into a model as apply_input_statistics would.
  ModelConfig config;
  config.max_bin = 1487;
  UmxWeights weights(config);
  apply_cache_statistics(weights, s);
  EXPECT_FLOAT_EQ(weights["input_mean"][10], -s.mean[10]);
  EXPECT_FLOAT_EQ(weights["input_scale"][10], 1.f / s.std[10]);
}

TEST(Preprocess, ResumesUnchangedTracksAndRebuildsChangedOnes) {
  CacheCorpus c;
  const PreprocessReport first = preprocess(c.manifest, c.root, c.cache, c.options());
  const PreprocessReport again = preprocess(c.manifest, c.root, c.cache, c.options());
  EXPECT_EQ(again.written, 0u);
  EXPECT_EQ(again.reused, 5u);
  EXPECT_EQ(again.skipped, 1u);
  EXPECT_EQ(again.issues.size(), first.issues.size());  // a reused track still reports its issues
  EXPECT_TRUE(std::any_of(again.issues.begin(), again.issues.end(), [](const FileIssue& i) { return i.kind == IssueKind::Missing; }));

  // A changed stem (other length, so other size) makes its track rebuild; the others stay.
  test::write_track(c.root, {"Song1", "Artist1", false, 0.65, 44100, true,
                             {{"acoustic guitar", 0.65, 2, 44100, true, true, 999},
                              {"drum set", 0.3, 2, 44100, true, true, 102},
                              {"electric bass", 0.65, 1, 44100, true, false, 103}}});
  const PreprocessReport changed = preprocess(c.manifest, c.root, c.cache, c.options());
  EXPECT_EQ(changed.written, 1u);
  EXPECT_EQ(changed.reused, 4u);
  const Cache cache = Cache::open(c.cache);
  for (std::size_t k = 0; k < cache.tracks().size(); ++k)
    if (cache.tracks()[k].id == "Song1") {
      std::vector<float> target(2 * static_cast<std::size_t>(cache.tracks()[k].frames));
      cache.read(k, Source::Target, 0, cache.tracks()[k].frames, target.data(), cache.tracks()[k].frames);
      const Audio expected = test::test_signal(0.65, 2, 44100, 999);
      EXPECT_EQ(target, expected.samples);
    }
}

TEST(Preprocess, InterruptedOrStrictRunsWriteNoIndex) {
  CacheCorpus c;
  std::atomic<bool> stop{true};
  const PreprocessReport r = preprocess(c.manifest, c.root, c.cache, c.options(), {}, &stop);
  EXPECT_TRUE(r.interrupted);
  EXPECT_FALSE(fs::exists(c.cache / "index.json"));

  PreprocessOptions strict = c.options();
  strict.read.strict = true;
  try {
    preprocess(c.manifest, c.root, c.cache, strict);
    FAIL() << "strict preprocessing must fail on the missing stem";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Song5_STEM_01.wav"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(c.cache / "index.json"));
  EXPECT_THROW(Cache::open(c.cache), Error);

  const auto issues = validate_root(c.manifest, c.root, {});
  EXPECT_TRUE(std::any_of(issues.begin(), issues.end(), [](const FileIssue& i) {
    return i.kind == IssueKind::Missing && i.file.filename() == "Song5_STEM_01.wav";
  }));
  EXPECT_TRUE(std::any_of(issues.begin(), issues.end(), [](const FileIssue& i) {
    return i.kind == IssueKind::Channels && i.file.filename() == "Song0_STEM_03.wav";
  }));
}

TEST(Preprocess, Int16CacheIsCloseAndHalfTheSize) {
  CacheCorpus c;
  preprocess(c.manifest, c.root, c.cache, c.options());
  const fs::path small_dir = test::temp_dir("cache-int16");
  PreprocessOptions o = c.options();
  o.sample_type = SampleType::Int16;
  o.statistics = false;
  preprocess(c.manifest, c.root, small_dir, o);
  const Cache exact = Cache::open(c.cache), small = Cache::open(small_dir);
  EXPECT_EQ(small.sample_type(), SampleType::Int16);
  EXPECT_FALSE(small.has_statistics());
  EXPECT_THROW(small.statistics(), Error);
  ASSERT_EQ(exact.tracks().size(), small.tracks().size());
  const auto& t = small.tracks()[0];
  EXPECT_EQ(fs::file_size(small_dir / t.target_file) * 2, fs::file_size(c.cache / exact.tracks()[0].target_file));
  std::vector<float> a(2 * static_cast<std::size_t>(t.frames)), b(a.size());
  exact.read(0, Source::Interferers, 0, t.frames, a.data(), t.frames);
  small.read(0, Source::Interferers, 0, t.frames, b.data(), t.frames);
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  EXPECT_LE(worst, 0.51f * t.interferer_scale);  // half a quantization step, plus float rounding
  EXPECT_GT(worst, 0.f);
  fs::remove_all(small_dir);
}

TEST(Cache, DamagedFilesAreReportedByName) {
  CacheCorpus c;
  preprocess(c.manifest, c.root, c.cache, c.options());
  const Cache cache = Cache::open(c.cache);
  const fs::path victim = c.cache / cache.tracks()[1].interferer_file;
  fs::resize_file(victim, fs::file_size(victim) - 8);
  try {
    Cache::open(c.cache);
    FAIL() << "a truncated track file must be rejected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(victim.filename().string()), std::string::npos) << e.what();
  }
  std::ofstream(c.cache / "index.json", std::ios::trunc) << "{\"format\": \"unmix-cache\"";
  EXPECT_THROW(Cache::open(c.cache), Error);
}

// A cache from before preprocess checked samples may hold a NaN: open refuses it naming the file and the
// track, and the advice it gives (remove the track's record, rerun preprocess) rebuilds a usable cache.
TEST(Cache, NonFiniteSamplesOfAnOlderCacheAreRefusedByTrack) {
  CacheCorpus c;
  preprocess(c.manifest, c.root, c.cache, c.options());
  const CachedTrack track = Cache::open(c.cache).tracks()[2];
  const fs::path victim = c.cache / track.interferer_file;
  const std::int64_t frame = track.frames / 2;
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>((frame * 2 + 1) * sizeof(float)));  // right channel
    const float nan = std::numeric_limits<float>::quiet_NaN();
    f.write(reinterpret_cast<const char*>(&nan), sizeof nan);
  }
  std::string message;
  try {
    Cache::open(c.cache);
    FAIL() << "a cache with a NaN sample was accepted";
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_EQ(message.rfind(victim.string() + ": track '" + track.id + "' holds a NaN or infinite sample (frame " +
                              std::to_string(frame) + ", channel 1)",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find("rerun preprocess"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  fs::remove(c.cache / "tracks" / (track.id + ".json"));
  const PreprocessReport rebuilt = preprocess(c.manifest, c.root, c.cache, c.options());
  EXPECT_EQ(rebuilt.written, 1u);
  EXPECT_NO_THROW(Cache::open(c.cache));

  // int16 samples cannot be NaN, but a scale can be out of float's range
  const fs::path small_dir = test::temp_dir("cache-int16-scale");
  PreprocessOptions o = c.options();
  o.sample_type = SampleType::Int16;
  o.statistics = false;
  preprocess(c.manifest, c.root, small_dir, o);
  std::ostringstream text;
  text << std::ifstream(small_dir / "index.json").rdbuf();
  std::string index = text.str();
  const std::size_t at = index.find("\"scale\":");
  ASSERT_NE(at, std::string::npos);
  index.replace(at, index.find_first_of(",}", at) - at, "\"scale\": 1e39");
  std::ofstream(small_dir / "index.json", std::ios::trunc) << index;
  try {
    Cache::open(small_dir);
    FAIL() << "an infinite int16 scale was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("index.json: track '"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("sample scale inf"), std::string::npos) << e.what();
  }
  fs::remove_all(small_dir);
}
