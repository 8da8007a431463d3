// The demo pipeline end to end at toy size: corpus -> artist-disjoint manifest -> training -> separation of
// the test songs -> BSSEval with oracle and mixture rows; reuse of the corpus, interruption of training,
// refusal of a folder the demo did not make, and the one-line SDR comparison.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "test_support.h"
#include "unmix/audio.h"
#include "unmix/data/manifest.h"
#include "unmix/demo.h"
#include "unmix/error.h"
#include "unmix/gpu/device.h"

using namespace unmix;
using namespace unmix::demo;
namespace fs = std::filesystem;

namespace {

DemoOptions toy_options(const fs::path& out) {
  DemoOptions o;
  o.out = out;
  o.songs = 10;  // with seed 7: 7 train, 2 valid, 1 test song by artist (6 songs may not split)
  o.seconds = 5;
  o.seed = 7;
  o.epochs = 2;
  o.hidden_size = 8;
  o.batch_size = 4;
  o.seq_dur = 1.0;
  o.samples_per_track = 2;
  o.device = "cpu";
  o.jobs = 2;
  return o;
}

const eval::SummaryRow* find_row(const DemoResult& r, const std::string& method, const std::string& target) {
  for (const auto& row : r.summary)
    if (row.method == method && row.target == target) return &row;
  return nullptr;
}

struct Logged {
  std::vector<std::string> lines;
  bool contains(const std::string& text) const {
    for (const auto& l : lines)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }
};

}  // namespace

TEST(Demo, WholePipelineThenReuseAndInterruptedTraining) {
  const fs::path out = unmix::test::temp_dir("demo") / "demo-out";  // a folder that does not exist yet
  const DemoOptions options = toy_options(out);
  Logged log;
  DemoHooks hooks;
  hooks.log = [&](const std::string& line) { log.lines.push_back(line); };
  const DemoResult r = run_demo(options, hooks);

  EXPECT_FALSE(r.interrupted);
  EXPECT_FALSE(r.training_interrupted);
  EXPECT_EQ(r.device, "cpu");
  EXPECT_EQ(r.epochs_trained, 2);
  EXPECT_TRUE(log.contains("[1/5] corpus: synthesizing 10 songs of 5 s (seed 7) with FluidSynth"));

  // the manifest: every split filled, artists never shared between splits
  const auto manifest = data::load_manifest(out / "guitar.json");
  EXPECT_TRUE(data::check_manifest(manifest).empty());
  EXPECT_EQ(manifest.tracks.size(), 10u);
  ASSERT_GT(manifest.count(data::Split::Test), 0u);
  EXPECT_GT(manifest.count(data::Split::Valid), 0u);
  EXPECT_GT(manifest.count(data::Split::Train), 0u);
  std::set<std::string> test_ids;
  for (const auto* t : manifest.tracks_in(data::Split::Test)) test_ids.insert(t->id);
  EXPECT_EQ(std::set<std::string>(r.test_tracks.begin(), r.test_tracks.end()), test_ids);

  // outputs of every stage
  EXPECT_TRUE(fs::exists(out / "model" / "guitar.safetensors"));
  EXPECT_TRUE(fs::exists(out / "model" / "checkpoint.safetensors"));
  EXPECT_TRUE(fs::exists(out / "cache"));
  for (const auto& id : test_ids) {
    const Audio mix = read_audio(out / "references" / id / "mixture.wav");
    for (const char* source : {"guitar", "residual"}) {
      const Audio estimate = read_audio(out / "separated" / id / (std::string(source) + ".wav"));
      EXPECT_EQ(estimate.frames, mix.frames) << id << " " << source;
      EXPECT_EQ(estimate.channels, 2);
      EXPECT_TRUE(fs::exists(out / "references" / id / (std::string(source) + ".wav")));
    }
    EXPECT_TRUE(fs::exists(out / "eval" / kModelLabel / (id + ".json")));
    EXPECT_TRUE(fs::exists(out / "eval" / "MWF" / (id + ".json")));
  }
  EXPECT_TRUE(fs::exists(out / "eval" / "summary.csv"));

  // the table: the model first, then every oracle, the mixture last, for both targets, over every test song
  std::vector<std::string> methods;
  for (const auto& row : r.summary)
    if (methods.empty() || methods.back() != row.method) methods.push_back(row.method);
  EXPECT_EQ(methods, (std::vector<std::string>{kModelLabel, "IRM1", "IRM2", "IBM", "MWF", "Mixture"}));
  for (const auto& row : r.summary) {
    EXPECT_EQ(row.tracks, test_ids.size()) << row.method << " " << row.target;
    EXPECT_TRUE(std::isfinite(row.median[0])) << row.method << " " << row.target;
  }
  // the oracles are upper bounds: the ideal ratio mask beats doing nothing by a wide margin
  const auto *irm2 = find_row(r, "IRM2", "guitar"), *mixture = find_row(r, "Mixture", "guitar");
  ASSERT_TRUE(irm2 && mixture);
  EXPECT_GT(irm2->median[0], mixture->median[0] + 3.0);
  EXPECT_EQ(sdr_comparison(r.summary).size(), 2u);

  // Same settings again: the corpus is reused (files untouched); training is raised to stop once the first
  // epoch is logged, so the run goes on with epoch 1's model and lowers the flag for the later stages.
  const auto stamp = fs::last_write_time(out / "corpus" / manifest.tracks.front().mix);
  std::atomic<bool> stop{false};
  Logged second;
  hooks.log = [&](const std::string& line) {
    second.lines.push_back(line);
    if (line.find("epoch 1/2") != std::string::npos) stop = true;
  };
  hooks.stop = &stop;
  const DemoResult again = run_demo(options, hooks);
  EXPECT_TRUE(second.contains("[1/5] corpus: reusing"));
  EXPECT_EQ(fs::last_write_time(out / "corpus" / manifest.tracks.front().mix), stamp);
  EXPECT_TRUE(again.training_interrupted);
  EXPECT_FALSE(again.interrupted);
  EXPECT_FALSE(stop.load());
  EXPECT_EQ(again.epochs_trained, 1);
  EXPECT_EQ(again.summary.size(), r.summary.size());
  // the oracles depend on the data only, so they score exactly as before
  EXPECT_EQ(find_row(again, "MWF", "guitar")->median[0], find_row(r, "MWF", "guitar")->median[0]);
  fs::remove_all(out.parent_path());
}

TEST(Demo, RefusesForeignFoldersAndBadOptions) {
  const fs::path dir = unmix::test::temp_dir("demo-foreign");
  { std::ofstream(dir / "notes.txt") << "mine\n"; }
  try {
    run_demo(toy_options(dir));
    FAIL() << "a folder the demo did not make was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("was not made by the demo"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);

  if (!gpu::query_devices().available()) {  // asking for a GPU that is not there fails before any work
    DemoOptions cuda = toy_options(dir / "cuda");
    cuda.device = "cuda";
    EXPECT_THROW(run_demo(cuda), Error);
    EXPECT_FALSE(fs::exists(dir / "cuda"));
  }

  DemoOptions o = toy_options(unmix::test::temp_dir("demo-options"));
  o.songs = 2;
  EXPECT_THROW(validate(o), Error);
  o = toy_options(o.out);
  o.device = "tpu";
  EXPECT_THROW(validate(o), Error);
  o = toy_options(o.out);
  o.seq_dur = 10;  // longer than the songs
  EXPECT_THROW(validate(o), Error);
}

TEST(Demo, SdrComparisonAgainstMixtureAndBestOracle) {
  auto row = [](const std::string& method, const std::string& target, double sdr) {
    eval::SummaryRow r{};
    r.method = method;
    r.target = target;
    r.median[0] = sdr;
    r.tracks = 1;
    return r;
  };
  const std::vector<eval::SummaryRow> rows = {row(kModelLabel, "guitar", 2.5), row("IRM1", "guitar", 6.0),
                                              row("MWF", "guitar", 7.25), row("IBM", "guitar", NAN),
                                              row("Mixture", "guitar", -3.0), row(kModelLabel, "residual", 2.0),
                                              row("Mixture", "residual", 3.0), row("IRM2", "residual", 1.5)};
  const auto lines = sdr_comparison(rows);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "guitar: UMX 2.50 dB SDR, 5.50 dB over the mixture, 4.75 dB below the best oracle (MWF 7.25 dB)");
  EXPECT_EQ(lines[1], "residual: UMX 2.00 dB SDR, 1.00 dB below the mixture, 0.50 dB above the best oracle (IRM2 1.50 dB)");
}
