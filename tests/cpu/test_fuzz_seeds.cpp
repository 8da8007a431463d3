// The seed corpus of the fuzz harnesses (fuzz/): valid inputs of every reader, written by the suite into
// <build>/fuzz-seeds/<harness>/ so that scripts/fuzz.sh starts from files the current code writes. Each
// seed is read back through the entry point its harness calls, so the seeds stay valid as formats evolve.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../../fuzz/fuzz_model.h"
#include "test_support.h"
#include "unmix/audio.h"
#include "unmix/data/manifest.h"
#include "unmix/model_dir.h"
#include "unmix/safetensors.h"
#include "unmix/train/checkpoint.h"

namespace {

namespace fs = std::filesystem;
namespace st = unmix::safetensors;
using namespace unmix;

fs::path seeds_dir(const std::string& harness) {
  // tests live in <build>/tests
  const fs::path dir = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "fuzz-seeds" / harness;
  fs::create_directories(dir);
  return dir;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using fuzz::harness_model;  // the model the model_json and checkpoint harnesses use

TEST(FuzzSeeds, ModelFilesAndCheckpoints) {
  const fs::path dir = test::temp_dir("fuzz-seeds");
  save_model(dir, "vocals", harness_model());
  save_model(dir, "f16", harness_model(), "", WeightStorage::F16);
  ASSERT_NO_THROW(load_model(dir, "vocals"));
  ASSERT_NO_THROW(load_model(dir, "f16"));
  fs::copy_file(dir / "vocals.safetensors", seeds_dir("safetensors") / "model.safetensors",
                fs::copy_options::overwrite_existing);
  fs::copy_file(dir / "f16.safetensors", seeds_dir("safetensors") / "model_f16.safetensors",
                fs::copy_options::overwrite_existing);
  fs::copy_file(dir / "vocals.json", seeds_dir("model_json") / "vocals.json", fs::copy_options::overwrite_existing);

  const UmxWeights w = harness_model();
  cpu::AdamState adam;
  adam.reset(w.table.trainable_size());
  train::TrainState s;
  s.target = "vocals";
  s.lr = 1e-3;
  train::save_checkpoint(dir / "checkpoint.safetensors", s, w, adam);
  ASSERT_NO_THROW(train::load_checkpoint(dir / "checkpoint.safetensors"));
  fs::copy_file(dir / "checkpoint.safetensors", seeds_dir("safetensors") / "checkpoint.safetensors",
                fs::copy_options::overwrite_existing);
  const st::File f = st::read(dir / "checkpoint.safetensors");
  std::ofstream(seeds_dir("checkpoint") / "state.json", std::ios::binary) << f.metadata.at("unmix.train_state");
  fs::remove_all(dir);
}

TEST(FuzzSeeds, Manifests) {
  const fs::path source = fs::path(UNMIX_FIXTURE_DIR).parent_path().parent_path() / "data_manifests";
  int written = 0;
  for (const auto& e : fs::directory_iterator(source)) {
    const std::string text = read_text(e.path());
    ASSERT_NO_THROW(data::manifest_from_json(text, e.path().string())) << e.path();
    std::ofstream(seeds_dir("manifest_json") / e.path().filename(), std::ios::binary) << text;
    ++written;
  }
  EXPECT_GE(written, 1);
}

TEST(FuzzSeeds, MedleydbMetadata) {
  const fs::path dir = test::temp_dir("fuzz-seeds-yaml");
  const std::string utf8 =
      "album: Ace of Spades\nartist: Mot\xC3\xB6rhead\ncomposer: [Kilmister]\ngenre: Rock\nhas_bleed: 'yes'\n"
      "mix_filename: Track_MIX.wav\norigin: Dry\nstem_dir: Track_STEMS\ntitle: Ace\nversion: 1.2\n"
      "stems:\n  S01:\n    component: melody\n    filename: Track_STEM_01.wav\n    instrument: clean electric guitar\n"
      "    raw:\n      R01: {filename: Track_RAW_01_01.wav, instrument: clean electric guitar}\n"
      "  S02:\n    component: ''\n    instrument: [drum set, percussion]\n";
  const std::string latin1 = "artist: Bj\xF6rk\ntitle: J\xF3ga\nstems:\n  S1:\n    instrument: acoustic guitar\n";
  for (const auto& [name, text] : {std::pair{"utf8.yaml", utf8}, std::pair{"latin1.yaml", latin1}}) {
    std::ofstream(dir / "Track_METADATA.yaml", std::ios::binary) << text;
    const data::TrackMetadata t = data::read_track_metadata(dir / "Track_METADATA.yaml");
    EXPECT_FALSE(t.stems.empty()) << name;
    std::ofstream(seeds_dir("medleydb_yaml") / name, std::ios::binary) << text;
  }
  EXPECT_EQ(data::read_track_metadata(dir / "Track_METADATA.yaml").artist, "Bj\xC3\xB6rk");
  fs::remove_all(dir);
}

TEST(FuzzSeeds, AudioFiles) {
  Audio a;
  a.sample_rate = 8000;
  a.channels = 2;
  a.frames = 400;
  a.samples = test::random_vector<float>(800, 5, -0.5, 0.5);
  const fs::path out = seeds_dir("audio");
  for (const auto& [name, format] : {std::pair{"float.wav", SampleFormat::Float32}, std::pair{"pcm16.wav", SampleFormat::Pcm16},
                                     std::pair{"pcm24.flac", SampleFormat::Pcm24}}) {
    write_audio(out / name, a, format);
    EXPECT_EQ(read_audio(out / name).frames, a.frames) << name;
  }
}

}  // namespace
