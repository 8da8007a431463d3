// Manifests: metadata parsing, target/interferer selection, the artist-disjoint split and bleed policies,
// JSON round trips and rejection of bad files.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "test_dataset_corpus.h"
#include "test_support.h"
#include "unmix/data/manifest.h"
#include "unmix/error.h"

using namespace unmix;
using namespace unmix::data;
namespace fs = std::filesystem;

namespace {

StemMetadata stem(const std::string& id, std::vector<std::string> labels) {
  return {id, "x_" + id + ".wav", std::move(labels), "", {}};
}

TrackMetadata track(const std::string& id, const std::string& artist, bool bleed, std::vector<StemMetadata> stems) {
  TrackMetadata t;
  t.id = id;
  t.artist = artist;
  t.has_bleed = bleed;
  t.mix_filename = id + "_MIX.wav";
  t.stem_dir = id + "_STEMS";
  t.stems = std::move(stems);
  return t;
}

// 40 tracks by 16 artists, every other one with an acoustic guitar, a few with bleed.
std::vector<TrackMetadata> many_tracks() {
  std::vector<TrackMetadata> out;
  for (int i = 0; i < 40; ++i) {
    std::vector<StemMetadata> stems = {stem("S01", {"drum set"}), stem("S02", {"electric bass"})};
    if (i % 2 == 0) stems.push_back(stem("S03", {"acoustic guitar"}));
    if (i % 5 == 0) stems.push_back(stem("S04", {"clean electric guitar"}));
    out.push_back(track("Track" + std::to_string(100 + i), "Artist" + std::to_string(i % 16), i % 7 == 3, stems));
  }
  return out;
}

ManifestOptions options_for(std::vector<std::string> labels, BleedPolicy bleed = BleedPolicy::Keep, std::uint64_t seed = 42) {
  ManifestOptions o;
  o.name = "test";
  o.target_labels = std::move(labels);
  o.split.seed = seed;
  o.split.bleed = bleed;
  return o;
}

void expect_artist_disjoint(const Manifest& m) {
  std::map<std::string, std::set<Split>> splits_of_group;
  for (const auto& t : m.tracks) splits_of_group[t.group].insert(t.split);
  for (const auto& [group, splits] : splits_of_group) EXPECT_EQ(splits.size(), 1u) << group;
  EXPECT_TRUE(check_manifest(m).empty());
}

}  // namespace

TEST(Metadata, ReadsStringsListsDefaultsAndRejectsBrokenFiles) {
  const fs::path dir = test::temp_dir("metadata");
  {
    std::ofstream f(dir / "Band_Song_METADATA.yaml");
    f << "artist: The Band\nhas_bleed: 'yes'\nstems:\n"
         "  S02:\n    instrument:\n    - acoustic guitar\n    - male singer\n"
         "  S01:\n    filename: Band_Song_STEM_01.wav\n    instrument: drum set\n    component: ''\n";
  }
  const TrackMetadata t = read_track_metadata(dir / "Band_Song_METADATA.yaml");
  EXPECT_EQ(t.id, "Band_Song");
  EXPECT_EQ(t.artist, "The Band");
  EXPECT_TRUE(t.has_bleed);
  EXPECT_EQ(t.mix_filename, "Band_Song_MIX.wav");
  EXPECT_EQ(t.stem_dir, "Band_Song_STEMS");
  ASSERT_EQ(t.stems.size(), 2u);
  EXPECT_EQ(t.stems[0].id, "S01");  // sorted by id
  EXPECT_EQ(t.stems[1].instruments, (std::vector<std::string>{"acoustic guitar", "male singer"}));
  EXPECT_EQ(t.stems[1].filename, "Band_Song_STEM_02.wav");  // from the stem id when the YAML has none

  {
    std::ofstream f(dir / "Broken_METADATA.yaml");
    f << "artist: x\nstems:\n  S01:\n    filename: a.wav\n";  // no instrument
  }
  try {
    read_track_metadata(dir / "Broken_METADATA.yaml");
    FAIL() << "a stem without instrument must be rejected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Broken_METADATA.yaml"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("S01"), std::string::npos) << e.what();
  }
  {
    std::ofstream f(dir / "Bad_METADATA.yaml");
    f << "stems: [unclosed\n";
  }
  EXPECT_THROW(read_track_metadata(dir / "Bad_METADATA.yaml"), Error);
  fs::remove(dir / "Broken_METADATA.yaml");
  fs::remove(dir / "Bad_METADATA.yaml");
  EXPECT_EQ(read_metadata_dir(dir).size(), 1u);

  {
    std::ofstream f(dir / "list.txt");
    f << "# comment\nA_One\n\n  B_Two  \n";
  }
  EXPECT_EQ(read_tracklist(dir / "list.txt"), (std::vector<std::string>{"A_One", "B_Two"}));
  fs::remove_all(dir);
}

TEST(Metadata, ScanRootAndMetadataDirFindTheSameTracks) {
  const fs::path root = test::temp_dir("scan-root"), meta = test::temp_dir("scan-meta");
  for (const char* id : {"A_Song", "B_Song"}) {
    test::TrackSpec spec{id, "Someone", false, 0.1, 44100, true, {{"acoustic guitar", 0.1}, {"drum set", 0.1}}};
    test::write_track(root, spec);
    test::write_track(root, spec, meta);
  }
  const auto a = scan_root(root), b = read_metadata_dir(meta);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].stems.size(), b[i].stems.size());
  }
  fs::remove_all(root);
  fs::remove_all(meta);
}

TEST(Manifest, SplitsTargetsFromInterferers) {
  const auto tracks = many_tracks();
  const Manifest m = build_manifest(tracks, options_for({"acoustic guitar"}));
  EXPECT_EQ(m.tracks.size(), 20u);  // every other track has the label
  for (const auto& t : m.tracks) {
    ASSERT_EQ(t.targets.size(), 1u);
    EXPECT_EQ(t.targets[0].id, "S03");
    EXPECT_EQ(t.targets[0].path, t.id + "/" + t.id + "_STEMS/x_S03.wav");
    EXPECT_EQ(t.mix, t.id + "/" + t.id + "_MIX.wav");
    for (const auto& s : t.interferers) EXPECT_NE(s.instruments[0], "acoustic guitar");
    const auto& source = *std::find_if(tracks.begin(), tracks.end(), [&](const auto& x) { return x.id == t.id; });
    EXPECT_EQ(t.targets.size() + t.interferers.size(), source.stems.size());
  }
  // Two labels: both guitars become targets.
  const Manifest both = build_manifest(tracks, options_for({"acoustic guitar", "clean electric guitar"}));
  EXPECT_EQ(both.tracks.size(), 24u);  // even ids plus the 4 odd multiples of 5 (5, 15, 25, 35)
  for (const auto& t : both.tracks)
    if (t.id == "Track100") {
      EXPECT_EQ(t.targets.size(), 2u);
    }
}

TEST(Manifest, SplitIsArtistDisjointDeterministicAndNearTheFractions) {
  auto tracks = many_tracks();
  ManifestOptions o = options_for({"drum set"});  // all 40 tracks
  o.split.valid_fraction = 0.2;
  o.split.test_fraction = 0.2;
  const Manifest m = build_manifest(tracks, o);
  ASSERT_EQ(m.tracks.size(), 40u);
  expect_artist_disjoint(m);
  EXPECT_GT(m.count(Split::Valid), 0u);
  EXPECT_GT(m.count(Split::Test), 0u);
  EXPECT_LE(m.count(Split::Valid), 8u);  // quota 8, groups of 2-3 tracks never overshoot it
  EXPECT_LE(m.count(Split::Test), 8u);
  EXPECT_GE(m.count(Split::Valid), 6u);
  EXPECT_GE(m.count(Split::Test), 6u);

  // Same input, any order: same split. Another seed: another split.
  std::reverse(tracks.begin(), tracks.end());
  EXPECT_EQ(manifest_to_json(build_manifest(tracks, o)), manifest_to_json(m));
  o.split.seed = 7;
  const Manifest other = build_manifest(tracks, o);
  expect_artist_disjoint(other);
  int moved = 0;
  for (const auto& t : other.tracks) moved += m.find(t.id)->split != t.split;
  EXPECT_GT(moved, 0);
}

TEST(Manifest, ArtistIndexOverridesTheArtistField) {
  const auto tracks = many_tracks();
  ManifestOptions o = options_for({"drum set"});
  for (const auto& t : tracks) o.artist_groups[t.id] = "one group";  // everything by one artist
  const Manifest m = build_manifest(tracks, o);
  for (const auto& t : m.tracks) {
    EXPECT_EQ(t.group, "one group");
    EXPECT_EQ(t.split, Split::Train);  // one group of 40 cannot fit the valid or test quota
  }
}

TEST(Manifest, BleedPolicies) {
  const auto tracks = many_tracks();
  std::set<std::string> bleed_ids;
  for (const auto& t : tracks)
    if (t.has_bleed) bleed_ids.insert(t.id);
  ASSERT_FALSE(bleed_ids.empty());

  const Manifest keep = build_manifest(tracks, options_for({"drum set"}, BleedPolicy::Keep));
  EXPECT_EQ(keep.tracks.size(), 40u);
  EXPECT_TRUE(keep.excluded.empty());

  const Manifest exclude = build_manifest(tracks, options_for({"drum set"}, BleedPolicy::Exclude));
  EXPECT_EQ(exclude.tracks.size(), 40u - bleed_ids.size());
  EXPECT_EQ(exclude.excluded.size(), bleed_ids.size());
  for (const auto& t : exclude.tracks) EXPECT_FALSE(t.bleed);

  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    const Manifest train_only = build_manifest(tracks, options_for({"drum set"}, BleedPolicy::TrainOnly, seed));
    expect_artist_disjoint(train_only);
    for (const auto& t : train_only.tracks)
      if (t.bleed) {
        EXPECT_EQ(t.split, Split::Train) << t.id;
      }
    // Every bleed track is either in train or excluded with a reason; nothing is lost silently.
    EXPECT_EQ(train_only.tracks.size() + train_only.excluded.size(), 40u);
    for (const auto& e : train_only.excluded) {
      EXPECT_TRUE(bleed_ids.count(e.id)) << e.id;
      EXPECT_NE(e.reason.find("bleed"), std::string::npos);
    }
  }
}

TEST(Manifest, StemMixingTargetAndOtherLabelsExcludesTheTrack) {
  std::vector<TrackMetadata> tracks = {
      track("Mixed_Song", "A", false, {stem("S01", {"acoustic guitar", "male singer"}), stem("S02", {"drum set"})}),
      track("Pure_Song", "B", false, {stem("S01", {"acoustic guitar", "acoustic guitar"}), stem("S02", {"drum set"})})};
  const Manifest m = build_manifest(tracks, options_for({"acoustic guitar"}));
  ASSERT_EQ(m.tracks.size(), 1u);
  EXPECT_EQ(m.tracks[0].id, "Pure_Song");
  ASSERT_EQ(m.excluded.size(), 1u);
  EXPECT_EQ(m.excluded[0].id, "Mixed_Song");
  EXPECT_NE(m.excluded[0].reason.find("S01"), std::string::npos);
}

TEST(Manifest, BadOptionsAreRejected) {
  const auto tracks = many_tracks();
  EXPECT_THROW(build_manifest(tracks, options_for({})), Error);
  ManifestOptions o = options_for({"drum set"});
  o.split.valid_fraction = 0.6;
  o.split.test_fraction = 0.5;
  EXPECT_THROW(build_manifest(tracks, o), Error);
}

TEST(ManifestJson, RoundTripsAndRejectsInconsistentFiles) {
  const fs::path dir = test::temp_dir("manifest-json");
  ManifestOptions o = options_for({"acoustic guitar"}, BleedPolicy::TrainOnly, 1234567890123ull);
  o.source = "unit test";
  const Manifest m = build_manifest(many_tracks(), o);
  save_manifest(m, dir / "m.json");
  const Manifest back = load_manifest(dir / "m.json");
  EXPECT_EQ(manifest_to_json(back), manifest_to_json(m));
  EXPECT_EQ(back.split.seed, 1234567890123ull);
  EXPECT_EQ(back.split.bleed, BleedPolicy::TrainOnly);
  ASSERT_EQ(back.tracks.size(), m.tracks.size());
  EXPECT_EQ(back.tracks[3].interferers.size(), m.tracks[3].interferers.size());

  auto rejects = [&](const std::string& text, const std::string& expected) {
    std::ofstream(dir / "bad.json") << text;
    try {
      load_manifest(dir / "bad.json");
      ADD_FAILURE() << "accepted a manifest that should fail with: " << expected;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("bad.json"), std::string::npos) << what;
      EXPECT_NE(what.find(expected), std::string::npos) << what;
    }
  };
  const std::string good = manifest_to_json(m);
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  rejects("{", "not valid JSON");
  rejects("{\"format\": \"something\"}", "not a manifest");
  // A format of the wrong type is the same one-line error, not a JSON library exception.
  rejects("{\"format\": 5}", "not a manifest");
  rejects("{\"format\": null, \"version\": 1}", "not a manifest");
  rejects("[\"format\"]", "not a manifest");
  rejects(replaced("\"train\": " + std::to_string(m.count(Split::Train)), "\"train\": 999"), "counts.train");
  rejects(replaced("\"path\":\"" + m.tracks[0].id, "\"path\":\"../" + m.tracks[0].id), "relative path");
  // Move one track of a multi-track group into another split: the group would span two splits.
  const ManifestTrack* moved = nullptr;
  for (const auto& t : m.tracks)
    if (t.split == Split::Train && std::count_if(m.tracks.begin(), m.tracks.end(), [&](const auto& u) { return u.group == t.group; }) > 1)
      moved = &t;
  ASSERT_NE(moved, nullptr);
  std::string edited = replaced("\"id\": \"" + moved->id + "\", \"artist\": \"" + moved->artist + "\", \"group\": \"" + moved->group +
                                    "\", \"split\": \"train\"",
                                "\"id\": \"" + moved->id + "\", \"artist\": \"" + moved->artist + "\", \"group\": \"" + moved->group +
                                    "\", \"split\": \"test\"");
  const std::string counts = "\"train\": " + std::to_string(m.count(Split::Train)) + ",\n    \"valid\": " +
                             std::to_string(m.count(Split::Valid)) + ",\n    \"test\": " + std::to_string(m.count(Split::Test));
  const auto at = edited.find(counts);
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, counts.size(),
                 "\"train\": " + std::to_string(m.count(Split::Train) - 1) + ",\n    \"valid\": " + std::to_string(m.count(Split::Valid)) +
                     ",\n    \"test\": " + std::to_string(m.count(Split::Test) + 1));
  rejects(edited, "artist group");
  fs::remove_all(dir);
}
