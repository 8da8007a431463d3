// A small synthetic corpus through the data pipeline: the generator's folders and metadata are read by
// the MedleyDB metadata scanner, become artist-disjoint manifests, and the track reader gives back
// mix = target + interferers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "test_support.h"
#include "unmix/data/dataset.h"
#include "unmix/data/manifest.h"
#include "unmix/synth/corpus.h"

using namespace unmix;
namespace fs = std::filesystem;

namespace {

const fs::path kTimGM6mb = "/usr/share/sounds/sf2/TimGM6mb.sf2";
const std::vector<std::string> kGuitarLabels = {"acoustic guitar", "clean electric guitar", "distorted electric guitar"};

class CorpusPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kTimGM6mb)) return;
    root_ = new fs::path(unmix::test::temp_dir("corpus-pipeline"));
    synth::CorpusOptions options;
    options.out = *root_;
    options.songs = 8;
    options.seconds = 2;
    options.seed = 2024;
    options.soundfonts = {kTimGM6mb};
    options.jobs = 2;
    result_ = new synth::CorpusResult(synth::synthesize_corpus(options));
  }
  static void TearDownTestSuite() {
    if (root_) fs::remove_all(*root_);
    delete root_;
    delete result_;
    root_ = nullptr;
    result_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kTimGM6mb)) << kTimGM6mb << " is missing: install timgm6mb-soundfont (scripts/install-deps.sh)";
  }
  static data::Manifest manifest(const std::string& name, const std::vector<std::string>& labels) {
    data::ManifestOptions options;
    options.name = name;
    options.target_labels = labels;
    options.split.valid_fraction = 0.25;
    options.split.test_fraction = 0.25;
    options.source = "synthetic corpus";
    return data::build_manifest(data::scan_root(*root_), options);
  }

  static fs::path* root_;
  static synth::CorpusResult* result_;
};
fs::path* CorpusPipeline::root_ = nullptr;
synth::CorpusResult* CorpusPipeline::result_ = nullptr;

}  // namespace

TEST_F(CorpusPipeline, ScannerSeesEverySongAndManifestsAreArtistDisjoint) {
  const std::vector<data::TrackMetadata> tracks = data::scan_root(*root_);
  std::vector<std::string> ids, written = result_->tracks_written;
  for (const auto& t : tracks) ids.push_back(t.id);
  std::sort(written.begin(), written.end());
  EXPECT_EQ(ids, written);
  std::set<std::string> artists;
  for (const auto& t : tracks) {
    EXPECT_FALSE(t.has_bleed);
    EXPECT_GE(t.stems.size(), 3u);
    for (const auto& stem : t.stems) {
      ASSERT_EQ(stem.instruments.size(), 1u);
      EXPECT_TRUE(fs::exists(*root_ / t.id / t.stem_dir / stem.filename)) << stem.filename;
    }
    artists.insert(t.artist);
  }
  EXPECT_GT(artists.size(), 1u) << "eight songs should come from more than one artist";

  // Every song has a guitar, so the any-guitar manifest holds them all.
  const data::Manifest m = manifest("any_guitar", kGuitarLabels);
  EXPECT_TRUE(data::check_manifest(m).empty());
  EXPECT_EQ(m.tracks.size(), 8u) << "every synthetic song has a guitar";
  std::map<std::string, std::set<data::Split>> splits_of_group;
  for (const auto& t : m.tracks) {
    splits_of_group[t.group].insert(t.split);
    EXPECT_FALSE(t.targets.empty());
    for (const auto& stem : t.targets)
      EXPECT_NE(std::find(kGuitarLabels.begin(), kGuitarLabels.end(), stem.instruments.at(0)), kGuitarLabels.end());
    for (const auto& stem : t.interferers)
      EXPECT_EQ(std::find(kGuitarLabels.begin(), kGuitarLabels.end(), stem.instruments.at(0)), kGuitarLabels.end());
  }
  for (const auto& [group, splits] : splits_of_group) EXPECT_EQ(splits.size(), 1u) << group << " is in two splits";

  // One manifest per guitar kind takes only that kind as the target.
  std::size_t total = 0;
  for (const std::string& label : kGuitarLabels) {
    const data::Manifest kind_manifest = manifest(label, {label});
    EXPECT_TRUE(data::check_manifest(kind_manifest).empty()) << label;
    for (const auto& t : kind_manifest.tracks) {
      for (const auto& stem : t.targets) EXPECT_EQ(stem.instruments.at(0), label);
      for (const auto& stem : t.interferers) EXPECT_NE(stem.instruments.at(0), label);
    }
    total += kind_manifest.tracks.size();
  }
  EXPECT_GE(total, 8u) << "each song appears in the manifest of each guitar kind it has";
}

TEST_F(CorpusPipeline, ReaderGivesMixEqualToTargetPlusInterferers) {
  const data::Manifest m = manifest("any_guitar", kGuitarLabels);
  data::ReadOptions options;
  options.strict = true;
  const data::TrackReader reader(*root_, options);
  ASSERT_FALSE(m.tracks.empty());
  for (const auto& track : m.tracks) {
    const data::TrackAudio audio = reader.read(track);
    EXPECT_TRUE(audio.issues.empty()) << track.id << ": " << audio.issues.front().to_string();
    EXPECT_TRUE(audio.mix_from_file);
    ASSERT_EQ(audio.mix.frames, 2 * 44100);
    ASSERT_EQ(audio.target.samples.size(), audio.mix.samples.size());
    ASSERT_EQ(audio.interferers.samples.size(), audio.mix.samples.size());
    double worst = 0, target_energy = 0;
    for (std::size_t i = 0; i < audio.mix.samples.size(); ++i) {
      const double sum = static_cast<double>(audio.target.samples[i]) + audio.interferers.samples[i];
      worst = std::max(worst, std::abs(sum - audio.mix.samples[i]));
      target_energy += static_cast<double>(audio.target.samples[i]) * audio.target.samples[i];
    }
    EXPECT_LE(worst, 1e-6) << track.id;
    EXPECT_GT(target_energy, 0.0) << track.id << ": silent guitar";
  }
}
