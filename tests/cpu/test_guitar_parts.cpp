// Guitar parts in manifests: the generator's synthesis block (role, guitar_kind, guitar_role) selects the
// lead or rhythm guitars, or a kind, as the target, the other guitars staying interferers.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <tuple>

#include "test_support.h"
#include "unmix/data/guitar_parts.h"
#include "unmix/data/manifest.h"
#include "unmix/error.h"

namespace {

using namespace unmix;
using namespace unmix::data;
namespace fs = std::filesystem;

// A track's metadata as tools/synthesize writes it (src/synth/metadata.cpp), stems abbreviated.
void write_track(const fs::path& root, const std::string& id, const std::string& artist,
                 const std::vector<std::tuple<std::string, std::string, std::string>>& guitars) {
  fs::create_directories(root / id);
  std::ofstream y(root / id / (id + "_METADATA.yaml"));
  y << "artist: " << artist << "\ntitle: Song " << id << "\nhas_bleed: no\nmix_filename: " << id << "_MIX.wav\n"
    << "stem_dir: " << id << "_STEMS\nstems:\n";
  int n = 1;
  for (const auto& [label, kind, role] : guitars) {
    y << "  S0" << n << ":\n    component: ''\n    filename: " << id << "_STEM_0" << n << ".wav\n    instrument: " << label
      << "\n    synthesis:\n      role: guitar\n      guitar_kind: " << kind << "\n      guitar_role: " << role
      << "\n      soundfont: x.sf2\n      patterns: [strum, riff]\n";
    ++n;
  }
  y << "  S0" << n << ":\n    component: bass\n    filename: " << id << "_STEM_0" << n
    << ".wav\n    instrument: electric bass\n    synthesis:\n      role: bass\n";
}

fs::path corpus() {
  const fs::path root = test::temp_dir("guitar-parts");
  write_track(root, "T1", "A", {{"distorted electric guitar", "distorted", "rhythm"}, {"clean electric guitar", "clean", "lead"}});
  write_track(root, "T2", "B", {{"acoustic guitar", "acoustic", "rhythm"}});
  write_track(root, "T3", "C", {{"acoustic guitar", "acoustic", "lead"}, {"acoustic guitar", "acoustic", "rhythm"}});
  return root;
}

std::set<std::string> target_stems(const Manifest& m) {
  std::set<std::string> out;
  for (const auto& t : m.tracks)
    for (const auto& s : t.targets) out.insert(t.id + "/" + s.id);
  return out;
}

TEST(GuitarParts, MetadataKeepsTheSynthesisBlock) {
  const TrackMetadata t = read_track_metadata(corpus() / "T1" / "T1_METADATA.yaml");
  ASSERT_EQ(t.stems.size(), 3u);
  EXPECT_EQ(t.stems[0].synthesis.at("guitar_role"), "rhythm");
  EXPECT_EQ(t.stems[1].synthesis.at("guitar_kind"), "clean");
  EXPECT_EQ(t.stems[2].synthesis.at("role"), "bass");
  EXPECT_EQ(t.stems[0].synthesis.count("patterns"), 0u);  // sequences are not scalar fields
}

TEST(GuitarParts, RoleAndKindSelectTheTargets) {
  const std::vector<TrackMetadata> tracks = scan_root(corpus());
  auto build = [&](const GuitarPart& part) {
    std::vector<TrackMetadata> relabelled = tracks;
    label_guitar_part(relabelled, part);
    ManifestOptions o;
    o.name = "part";
    o.target_labels = {guitar_part_label(part)};
    o.split.valid_fraction = o.split.test_fraction = 0;
    return build_manifest(relabelled, o);
  };
  EXPECT_EQ(target_stems(build({"lead", ""})), (std::set<std::string>{"T1/S02", "T3/S01"}));
  EXPECT_EQ(target_stems(build({"rhythm", ""})), (std::set<std::string>{"T1/S01", "T2/S01", "T3/S02"}));
  EXPECT_EQ(target_stems(build({"", "electric"})), (std::set<std::string>{"T1/S01", "T1/S02"}));
  EXPECT_EQ(target_stems(build({"rhythm", "acoustic"})), (std::set<std::string>{"T2/S01", "T3/S02"}));
  // the other guitar of a track is an interferer, not dropped
  const Manifest lead = build({"lead", ""});
  const ManifestTrack* t1 = lead.find("T1");
  ASSERT_NE(t1, nullptr);
  ASSERT_EQ(t1->interferers.size(), 2u);
  EXPECT_EQ(t1->interferers[0].instruments, std::vector<std::string>{"distorted electric guitar"});
  EXPECT_EQ(guitar_part_label({"lead", "distorted"}), "lead distorted electric guitar");
  EXPECT_THROW(validate(GuitarPart{"solo", ""}), Error);
  EXPECT_THROW(validate(GuitarPart{"", "nylon"}), Error);
}

TEST(GuitarParts, MakeManifestsCommand) {
  const fs::path tool = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / "make_manifests";
  ASSERT_TRUE(fs::exists(tool)) << "build unmix-make_manifests";
  const fs::path root = corpus();
  const std::string cmd = tool.string() + " --root '" + root.string() + "' --guitar-role lead --valid 0 --test 0 --out '" +
                          (root / "lead.json").string() + "' > '" + (root / "log.txt").string() + "' 2>&1";
  ASSERT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 0);
  const Manifest m = load_manifest(root / "lead.json");
  EXPECT_EQ(m.name, "lead_guitar");
  EXPECT_EQ(target_stems(m), (std::set<std::string>{"T1/S02", "T3/S01"}));
  const std::string both = tool.string() + " --root '" + root.string() + "' --guitar-role lead --target x --out '" +
                           (root / "bad.json").string() + "' > /dev/null 2>&1";
  EXPECT_NE(WEXITSTATUS(std::system(both.c_str())), 0);
  const std::string bad = tool.string() + " --root '" + root.string() + "' --guitar-role solo --out '" +
                          (root / "bad.json").string() + "' > /dev/null 2>&1";
  EXPECT_NE(WEXITSTATUS(std::system(bad.c_str())), 0);
  EXPECT_FALSE(fs::exists(root / "bad.json"));
}

}  // namespace
