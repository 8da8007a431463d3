// The committed manifests in data_manifests/: consistent by themselves (always checked), and equal to what
// the real MedleyDB metadata gives (checked when ../shared/medleydb sits beside the repository).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "test_support.h"
#include "unmix/data/manifest.h"

using namespace unmix;
using namespace unmix::data;
namespace fs = std::filesystem;

namespace {

fs::path repo_root() { return fs::path(UNMIX_FIXTURE_DIR).parent_path().parent_path(); }

// UNMIX_MEDLEYDB_METADATA overrides; by default the shared folder beside the checkout.
fs::path medleydb_dir() {
  const char* env = std::getenv("UNMIX_MEDLEYDB_METADATA");
  return env && *env ? fs::path(env) : repo_root().parent_path() / "shared" / "medleydb";
}

const char* kManifests[] = {"acoustic_guitar.json", "clean_electric_guitar.json", "any_guitar.json"};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Independent of the YAML parser: stem-level instrument labels and the bleed flag by a line scan of the
// file (stems are indented two spaces, their fields four; a label list follows as "    - label").
struct ScannedTrack {
  std::vector<std::vector<std::string>> stem_labels;
  bool bleed = false;
  std::string artist;
};

ScannedTrack scan_yaml(const fs::path& file) {
  ScannedTrack t;
  std::ifstream in(file);
  bool in_list = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("has_bleed:", 0) == 0) t.bleed = line.find("yes") != std::string::npos;
    if (line.rfind("artist: ", 0) == 0) t.artist = line.substr(8);
    if (line.size() > 2 && line.rfind("  S", 0) == 0 && line.back() == ':') t.stem_labels.emplace_back();
    const std::string field = "    instrument:";
    if (line.rfind(field, 0) == 0) {
      std::string rest = line.substr(field.size());
      rest.erase(0, rest.find_first_not_of(' '));
      in_list = rest.empty();
      if (!rest.empty()) t.stem_labels.back().push_back(rest);
      continue;
    }
    if (in_list && line.rfind("    - ", 0) == 0) {
      t.stem_labels.back().push_back(line.substr(6));
      continue;
    }
    in_list = false;
  }
  return t;
}

std::vector<std::string> lines(const fs::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

}  // namespace

TEST(CommittedManifests, AreConsistentArtistDisjointAndDocumented) {
  for (const char* name : kManifests) {
    SCOPED_TRACE(name);
    const fs::path file = repo_root() / "data_manifests" / name;
    ASSERT_TRUE(fs::exists(file)) << file;
    const Manifest m = load_manifest(file);  // also checks counts and the split invariants
    EXPECT_TRUE(check_manifest(m).empty());
    EXPECT_FALSE(m.target_labels.empty());
    const std::set<std::string> labels(m.target_labels.begin(), m.target_labels.end());
    std::map<std::string, std::set<Split>> group_splits;
    for (const auto& t : m.tracks) {
      group_splits[t.group].insert(t.split);
      ASSERT_FALSE(t.targets.empty()) << t.id;
      for (const auto& s : t.targets)
        for (const auto& l : s.instruments) EXPECT_TRUE(labels.count(l)) << t.id << " " << s.id << " " << l;
      for (const auto& s : t.interferers) {
        const bool all_target = std::all_of(s.instruments.begin(), s.instruments.end(), [&](const auto& l) { return labels.count(l) > 0; });
        EXPECT_FALSE(all_target) << t.id << " " << s.id;
      }
      for (const auto* list : {&t.targets, &t.interferers})
        for (const auto& s : *list) EXPECT_EQ(s.path.rfind(t.id + "/", 0), 0u) << s.path;
      if (m.split.bleed == BleedPolicy::TrainOnly && t.bleed) {
        EXPECT_EQ(t.split, Split::Train) << t.id;
      }
    }
    for (const auto& [group, splits] : group_splits) EXPECT_EQ(splits.size(), 1u) << group;
    EXPECT_GT(m.count(Split::Train), m.count(Split::Valid));
    EXPECT_GT(m.count(Split::Valid), 0u);
    EXPECT_GT(m.count(Split::Test), 0u);
  }
  // "any guitar" covers the other two.
  const Manifest any = load_manifest(repo_root() / "data_manifests" / "any_guitar.json");
  for (const char* name : {"acoustic_guitar.json", "clean_electric_guitar.json"})
    for (const auto& t : load_manifest(repo_root() / "data_manifests" / name).tracks) {
      const bool listed = any.find(t.id) != nullptr ||
                          std::any_of(any.excluded.begin(), any.excluded.end(), [&](const auto& e) { return e.id == t.id; });
      EXPECT_TRUE(listed) << t.id;
    }
}

TEST(CommittedManifests, MatchTheMedleyDBMetadata) {
  const fs::path dir = medleydb_dir();
  if (!fs::exists(dir / "metadata") || !fs::exists(dir / "tracklist_v1.txt"))
    GTEST_SKIP() << "MedleyDB metadata not found at " << dir << " (expected ../shared/medleydb beside the checkout, "
                 << "or set UNMIX_MEDLEYDB_METADATA)";

  std::set<std::string> public_ids;
  for (const char* list : {"tracklist_v1.txt", "tracklist_v2.txt"})
    for (const auto& id : lines(dir / list)) public_ids.insert(id);
  ASSERT_EQ(public_ids.size(), 196u);  // MedleyDB 1.0 + 2.0
  nlohmann::json artist_index = nlohmann::json::parse(read_text(dir / "artist_index.json"));

  std::vector<TrackMetadata> metadata;
  for (const auto& id : public_ids) metadata.push_back(read_track_metadata(dir / "metadata" / (id + "_METADATA.yaml")));
  std::map<std::string, std::string> groups;
  for (const auto& [id, group] : artist_index.items()) groups[id] = group.get<std::string>();

  for (const char* name : kManifests) {
    SCOPED_TRACE(name);
    const fs::path file = repo_root() / "data_manifests" / name;
    const Manifest committed = load_manifest(file);
    const std::set<std::string> labels(committed.target_labels.begin(), committed.target_labels.end());

    // Expected from the raw YAML text: a public track belongs when one of its stems carries only target labels.
    std::set<std::string> expected;
    std::map<std::string, bool> bleed;
    for (const auto& id : public_ids) {
      const ScannedTrack t = scan_yaml(dir / "metadata" / (id + "_METADATA.yaml"));
      bleed[id] = t.bleed;
      for (const auto& stem_labels : t.stem_labels)
        if (!stem_labels.empty() &&
            std::all_of(stem_labels.begin(), stem_labels.end(), [&](const auto& l) { return labels.count(l) > 0; }))
          expected.insert(id);
    }
    std::set<std::string> listed;
    for (const auto& t : committed.tracks) {
      listed.insert(t.id);
      EXPECT_EQ(t.bleed, bleed.at(t.id)) << t.id;
      EXPECT_EQ(t.group, artist_index.at(t.id).get<std::string>()) << t.id;
    }
    for (const auto& e : committed.excluded) listed.insert(e.id);
    EXPECT_EQ(listed, expected);
    std::printf("%-28s %3zu tracks: train %zu, valid %zu, test %zu, excluded %zu\n", name, committed.tracks.size(),
                committed.count(Split::Train), committed.count(Split::Valid), committed.count(Split::Test),
                committed.excluded.size());

    // Regenerating from the metadata with the recorded options gives the committed file byte for byte.
    ManifestOptions o;
    o.name = committed.name;
    o.target_labels = committed.target_labels;
    o.split = committed.split;
    o.artist_groups = groups;
    o.source = committed.source;
    EXPECT_EQ(manifest_to_json(build_manifest(metadata, o)), read_text(file))
        << "data_manifests/" << name << " is stale: run scripts/make_manifests.sh";
  }
}
