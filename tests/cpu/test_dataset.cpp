// The track-folder reader: sums, alignment (pad/trim), resampling, mono stems, missing and unreadable files,
// strict mode, and header-only validation, on small MedleyDB-layout corpora written by the test.
#include <gtest/gtest.h>

#include <fstream>

#include "test_dataset_corpus.h"
#include "test_support.h"
#include "unmix/data/dataset.h"
#include "unmix/error.h"

using namespace unmix;
using namespace unmix::data;
namespace fs = std::filesystem;

namespace {

struct Corpus {
  fs::path root;
  Manifest manifest;
  ~Corpus() { fs::remove_all(root); }
};

Manifest manifest_of(const fs::path& root, const std::vector<std::string>& labels) {
  ManifestOptions o;
  o.name = "test";
  o.target_labels = labels;
  o.split.valid_fraction = 0;
  o.split.test_fraction = 0;
  return build_manifest(scan_root(root), o);
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

Audio sum_of(const std::vector<Audio>& parts, std::int64_t frames) {
  Audio s;
  s.sample_rate = parts.at(0).sample_rate;
  s.channels = 2;
  s.frames = frames;
  s.samples.assign(2 * static_cast<std::size_t>(frames), 0.f);
  for (const auto& p : parts)
    for (int c = 0; c < 2; ++c)
      for (std::int64_t i = 0; i < std::min(frames, p.frames); ++i) s.channel(c)[i] += p.channel(c)[i];
  return s;
}

bool has_issue(const std::vector<FileIssue>& issues, IssueKind kind, const std::string& file_part) {
  return std::any_of(issues.begin(), issues.end(), [&](const FileIssue& i) {
    return i.kind == kind && i.file.string().find(file_part) != std::string::npos;
  });
}

}  // namespace

TEST(TrackReader, TargetPlusInterferersEqualsTheMix) {
  Corpus c{test::temp_dir("reader-sum"), {}};
  test::write_track(c.root, {"Band_Song", "Band", false, 1.5, 44100, true,
                             {{"acoustic guitar", 1.5, 2, 44100, true, true, 11},
                              {"drum set", 1.5, 2, 44100, true, true, 12},
                              {"acoustic guitar", 1.5, 2, 44100, true, true, 13},
                              {"electric bass", 1.5, 2, 44100, true, true, 14},
                              {"male singer", 1.5, 2, 44100, true, true, 15}}});
  c.manifest = manifest_of(c.root, {"acoustic guitar"});
  ASSERT_EQ(c.manifest.tracks.size(), 1u);
  const ManifestTrack& t = c.manifest.tracks[0];
  EXPECT_EQ(t.targets.size(), 2u);
  EXPECT_EQ(t.interferers.size(), 3u);

  const TrackAudio a = TrackReader(c.root, {}).read(t);
  EXPECT_TRUE(a.issues.empty()) << a.issues.front().to_string();
  EXPECT_TRUE(a.mix_from_file);
  ASSERT_EQ(a.mix.frames, 66150);
  ASSERT_EQ(a.target.frames, a.mix.frames);
  std::vector<float> sum(a.target.samples);
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += a.interferers.samples[i];
  EXPECT_LT(max_abs_diff(sum, a.mix.samples), 1e-6f);
  // The target is exactly the two guitar stems.
  const Audio expected_target = sum_of({test::test_signal(1.5, 2, 44100, 11), test::test_signal(1.5, 2, 44100, 13)}, 66150);
  EXPECT_LT(max_abs_diff(a.target.samples, expected_target.samples), 1e-6f);
  // And the check can fail: the mix is not the target alone.
  EXPECT_GT(max_abs_diff(a.target.samples, a.mix.samples), 1e-2f);
}

TEST(TrackReader, PadsShortStemsTrimsLongOnesAndReportsThem) {
  Corpus c{test::temp_dir("reader-length"), {}};
  test::write_track(c.root, {"Len_Song", "Len", false, 1.0, 44100, true,
                             {{"acoustic guitar", 0.5, 2, 44100, true, true, 21},   // short: padded
                              {"drum set", 1.25, 2, 44100, true, true, 22}}});     // long: trimmed
  c.manifest = manifest_of(c.root, {"acoustic guitar"});
  const TrackAudio a = TrackReader(c.root, {}).read(c.manifest.tracks[0]);
  ASSERT_EQ(a.target.frames, 44100);
  ASSERT_EQ(a.interferers.frames, 44100);
  EXPECT_TRUE(has_issue(a.issues, IssueKind::Length, "Len_Song_STEM_01.wav"));
  EXPECT_TRUE(has_issue(a.issues, IssueKind::Length, "Len_Song_STEM_02.wav"));
  const Audio short_stem = test::test_signal(0.5, 2, 44100, 21), long_stem = test::test_signal(1.25, 2, 44100, 22);
  for (int ch = 0; ch < 2; ++ch) {
    for (std::int64_t i = 0; i < 22050; ++i) ASSERT_EQ(a.target.channel(ch)[i], short_stem.channel(ch)[i]);
    for (std::int64_t i = 22050; i < 44100; ++i) ASSERT_EQ(a.target.channel(ch)[i], 0.f) << i;
    for (std::int64_t i = 0; i < 44100; ++i) ASSERT_EQ(a.interferers.channel(ch)[i], long_stem.channel(ch)[i]);
  }
  std::vector<float> sum(a.target.samples);
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += a.interferers.samples[i];
  EXPECT_LT(max_abs_diff(sum, a.mix.samples), 1e-6f);
}

TEST(TrackReader, ResamplesOtherRatesAndDuplicatesMonoStems) {
  Corpus c{test::temp_dir("reader-format"), {}};
  test::write_track(c.root, {"Fmt_Song", "Fmt", false, 1.0, 44100, true,
                             {{"acoustic guitar", 1.0, 1, 44100, true, false, 31},    // mono
                              {"drum set", 1.0, 2, 22050, true, false, 32}}});        // half rate
  c.manifest = manifest_of(c.root, {"acoustic guitar"});
  const TrackAudio a = TrackReader(c.root, {}).read(c.manifest.tracks[0]);
  EXPECT_TRUE(has_issue(a.issues, IssueKind::Channels, "Fmt_Song_STEM_01.wav"));
  EXPECT_TRUE(has_issue(a.issues, IssueKind::SampleRate, "Fmt_Song_STEM_02.wav"));
  EXPECT_FALSE(has_issue(a.issues, IssueKind::Length, "Fmt_Song_STEM_02.wav"));  // 22050 frames -> exactly 44100
  ASSERT_EQ(a.target.channels, 2);
  ASSERT_EQ(a.interferers.frames, 44100);

  const Audio mono = test::test_signal(1.0, 1, 44100, 31);
  for (int ch = 0; ch < 2; ++ch)
    for (std::int64_t i = 0; i < 44100; ++i) ASSERT_EQ(a.target.channel(ch)[i], mono.channel(0)[i]);

  // Upsampling by two keeps the input samples on the even output samples, away from the edges; the
  // signal's small white-noise term reaches the band edge, where the filter cuts, hence the tolerance.
  const Audio low = test::test_signal(1.0, 2, 22050, 32);
  const Audio direct = resample(low, 44100);
  for (int ch = 0; ch < 2; ++ch)
    for (std::int64_t i = 0; i < 44100; ++i) ASSERT_EQ(a.interferers.channel(ch)[i], direct.channel(ch)[i]);
  double energy = 0, error = 0;
  for (std::int64_t i = 2000; i < 42000; i += 2) {  // even output samples sit on the input samples
    const double x = low.channel(0)[i / 2], y = a.interferers.channel(0)[i];
    energy += x * x;
    error += (x - y) * (x - y);
  }
  EXPECT_LT(std::sqrt(error / energy), 2e-2);
}

TEST(TrackReader, MissingAndUnreadableFilesAreReportedOrFatalWithStrict) {
  Corpus c{test::temp_dir("reader-missing"), {}};
  test::write_track(c.root, {"Gap_Song", "Gap", false, 1.0, 44100, true,
                             {{"acoustic guitar", 1.0, 2, 44100, true, true, 41},
                              {"drum set", 1.0, 2, 44100, false, false, 42},     // listed, not on disk
                              {"electric bass", 1.0, 2, 44100, true, true, 43}}});
  const fs::path bad = c.root / "Gap_Song" / "Gap_Song_STEMS" / "Gap_Song_STEM_03.wav";
  std::ofstream(bad, std::ios::binary | std::ios::trunc) << "RIFF this is not a wave file";
  c.manifest = manifest_of(c.root, {"acoustic guitar"});
  const ManifestTrack& t = c.manifest.tracks[0];

  const TrackAudio a = TrackReader(c.root, {}).read(t);
  EXPECT_TRUE(a.usable());
  EXPECT_TRUE(has_issue(a.issues, IssueKind::Missing, "Gap_Song_STEM_02.wav"));
  EXPECT_TRUE(has_issue(a.issues, IssueKind::Unreadable, "Gap_Song_STEM_03.wav"));
  for (float v : a.interferers.samples) ASSERT_EQ(v, 0.f);  // both interferers count as silence
  for (const auto& i : a.issues) EXPECT_NE(i.to_string().find("Gap_Song_STEM_0"), std::string::npos) << i.to_string();

  // Header-only validation finds the same files.
  const auto v = TrackReader(c.root, {}).validate(t);
  EXPECT_TRUE(has_issue(v, IssueKind::Missing, "Gap_Song_STEM_02.wav"));
  EXPECT_TRUE(has_issue(v, IssueKind::Unreadable, "Gap_Song_STEM_03.wav"));

  ReadOptions strict;
  strict.strict = true;
  try {
    TrackReader(c.root, strict).read(t);
    FAIL() << "strict reading must stop at the missing stem";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Gap_Song_STEM_02.wav"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TEST(TrackReader, WithoutTargetsTheTrackIsUnusableAndWithoutMixTheStemsDecide) {
  Corpus c{test::temp_dir("reader-targets"), {}};
  test::write_track(c.root, {"NoGtr_Song", "X", false, 1.0, 44100, true,
                             {{"acoustic guitar", 1.0, 2, 44100, false, false, 51}, {"drum set", 1.0, 2, 44100, true, true, 52}}});
  test::write_track(c.root, {"NoMix_Song", "Y", false, 1.0, 44100, false,
                             {{"acoustic guitar", 0.75, 2, 44100, true, true, 53}, {"drum set", 0.5, 2, 44100, true, true, 54}}});
  c.manifest = manifest_of(c.root, {"acoustic guitar"});
  ASSERT_EQ(c.manifest.tracks.size(), 2u);
  const TrackReader reader(c.root, {});
  const TrackAudio no_target = reader.read(*c.manifest.find("NoGtr_Song"));
  EXPECT_FALSE(no_target.usable());
  EXPECT_TRUE(has_issue(no_target.issues, IssueKind::NoTargets, "NoGtr_Song"));

  const TrackAudio no_mix = reader.read(*c.manifest.find("NoMix_Song"));
  EXPECT_TRUE(no_mix.usable());
  EXPECT_FALSE(no_mix.mix_from_file);
  EXPECT_TRUE(has_issue(no_mix.issues, IssueKind::Missing, "NoMix_Song_MIX.wav"));
  EXPECT_EQ(no_mix.mix.frames, 33075);  // the longest stem
  std::vector<float> sum(no_mix.target.samples);
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += no_mix.interferers.samples[i];
  EXPECT_EQ(max_abs_diff(sum, no_mix.mix.samples), 0.f);
}
