// The synthetic corpus end to end with FluidSynth and TimGM6mb: MedleyDB layout, stems that add up to
// the mix bit for bit, audible stems, metadata, determinism, --soundfont, interruption and failure.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>

#include "test_support.h"
#include "unmix/audio.h"
#include "unmix/error.h"
#include "unmix/dsp/loudness.h"
#include "unmix/synth/corpus.h"
#include "unmix/synth/metadata.h"
#include "unmix/synth/mixdown.h"

using namespace unmix;
using namespace unmix::synth;
namespace fs = std::filesystem;

namespace {

const fs::path kTimGM6mb = "/usr/share/sounds/sf2/TimGM6mb.sf2";

// Leaves of MedleyDB's taxonomy.yaml (medleydb/resources/taxonomy.yaml).
const std::set<std::string> kMedleyDbLabels = {
    "erhu", "violin", "viola", "cello", "double bass", "violin section", "viola section", "cello section",
    "string section", "dilruba", "acoustic guitar", "banjo", "guzheng", "harp", "harpsichord", "liuqin", "mandolin",
    "oud", "slide guitar", "ukulele", "zhongruan", "sitar", "dulcimer", "yangqin", "piano", "tack piano", "dizi",
    "flute", "flute section", "piccolo", "bamboo flute", "panpipes", "recorder", "alto saxophone",
    "baritone saxophone", "bass clarinet", "clarinet", "clarinet section", "tenor saxophone", "soprano saxophone",
    "oboe", "english horn", "bassoon", "bagpipe", "trumpet", "cornet", "trombone", "french horn", "euphonium", "tuba",
    "brass section", "french horn section", "trombone section", "horn section", "trumpet section", "harmonica",
    "concertina", "accordion", "bandoneon", "harmonium", "pipe organ", "melodica", "male singer", "female singer",
    "male speaker", "female speaker", "male rapper", "female rapper", "beatboxing", "vocalists", "choir", "crowd",
    "male screamer", "female screamer", "triangle", "sleigh bells", "cowbell", "cabasa", "high hat", "gong", "guiro",
    "gu", "cymbal", "chimes", "castanet", "claps", "rattle", "shaker", "maracas", "xylophone", "vibraphone", "marimba",
    "glockenspiel", "whistle", "snaps", "timpani", "toms", "snare drum", "kick drum", "bass drum", "bongo", "conga",
    "tambourine", "darbuka", "doumbek", "tabla", "auxiliary percussion", "drum set", "clean electric guitar",
    "distorted electric guitar", "electric bass", "lap steel guitar", "drum machine", "electric piano",
    "electronic organ", "synthesizer", "theremin", "fx/processed sound", "scratches", "sampler", "Main System",
    "Unlabeled"};

bool is_guitar_label(const std::string& label) {
  return label == "acoustic guitar" || label == "clean electric guitar" || label == "distorted electric guitar";
}

CorpusOptions small_corpus(const fs::path& out) {
  CorpusOptions o;
  o.out = out;
  o.songs = 3;
  o.seconds = 4;
  o.seed = 11;
  o.soundfonts = {kTimGM6mb};
  o.jobs = 2;
  return o;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every file under `root`, relative, sorted.
std::vector<fs::path> tree(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), root));
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<fs::path> entries(const fs::path& dir) {
  std::vector<fs::path> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// A track folder is whole when its metadata, mix and every stem the metadata lists are there, and
// nothing else is.
void expect_whole_track(const fs::path& dir) {
  const std::string track = dir.filename().string();
  const fs::path yaml_path = dir / metadata_filename(track);
  ASSERT_TRUE(fs::exists(yaml_path)) << yaml_path;
  const YAML::Node meta = YAML::LoadFile(yaml_path.string());
  std::set<fs::path> expected = {metadata_filename(track), meta["mix_filename"].as<std::string>()};
  for (const auto& stem : meta["stems"])
    expected.insert(fs::path(meta["stem_dir"].as<std::string>()) / stem.second["filename"].as<std::string>());
  const auto files = tree(dir);
  EXPECT_EQ(std::set<fs::path>(files.begin(), files.end()), expected) << dir;
}

// Under ctest every test runs in a process of its own, so the shared corpus is made only by the tests
// that look at it.
class SynthCorpus : public ::testing::Test {
 protected:
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
  static fs::path root() {
    if (!root_) root_ = new fs::path(unmix::test::temp_dir("synth-corpus"));
    return *root_;
  }
  static const CorpusResult& made() {
    if (!result_) result_ = new CorpusResult(synthesize_corpus(small_corpus(corpus())));
    return *result_;
  }
  static fs::path corpus() { return root() / "corpus"; }
  static fs::path scratch(const std::string& name) { return root() / name; }

 private:
  static fs::path* root_;
  static CorpusResult* result_;
};
fs::path* SynthCorpus::root_ = nullptr;
CorpusResult* SynthCorpus::result_ = nullptr;

}  // namespace

TEST_F(SynthCorpus, WritesTheMedleyDbLayout) {
  ASSERT_EQ(made().tracks_written.size(), 3u);
  EXPECT_FALSE(made().interrupted);
  EXPECT_NEAR(made().audio_seconds, 12.0, 1e-9);
  std::vector<fs::path> expected(made().tracks_written.begin(), made().tracks_written.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(entries(corpus()), expected) << "only the track folders, no temporary leftovers";
  for (const std::string& track : made().tracks_written) {
    expect_whole_track(corpus() / track);
    const AudioInfo info = probe_audio(corpus() / track / mix_filename(track));
    EXPECT_EQ(info.sample_rate, 44100);
    EXPECT_EQ(info.channels, 2);
    EXPECT_EQ(info.frames, 4 * 44100);
    EXPECT_NE(info.format.find("float"), std::string::npos) << info.format;
  }
}

TEST_F(SynthCorpus, StemsReadBackAddUpToTheMixExactly) {
  for (const std::string& track : made().tracks_written) {
    const fs::path dir = corpus() / track;
    const YAML::Node meta = YAML::LoadFile((dir / metadata_filename(track)).string());
    const Audio mix = read_audio(dir / mix_filename(track));
    std::vector<float> sum(mix.samples.size(), 0.0f);
    for (int n = 1; n <= static_cast<int>(meta["stems"].size()); ++n) {
      const Audio stem = read_audio(dir / stem_dir_name(track) / stem_filename(track, n));
      ASSERT_EQ(stem.samples.size(), sum.size());
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += stem.samples[i];
    }
    float worst = 0, peak = 0;
    for (std::size_t i = 0; i < sum.size(); ++i) {
      worst = std::max(worst, std::abs(sum[i] - mix.samples[i]));
      peak = std::max(peak, std::abs(mix.samples[i]));
    }
    EXPECT_EQ(worst, 0.0f) << track << ": the mix is not the float sum of its stems";
    EXPECT_LE(peak, 1.0f) << track << " clips";
    EXPECT_GT(peak, 0.5f) << track << " is too quiet";
    EXPECT_NEAR(peak, meta["synthesis"]["mix_peak"].as<double>(), 1e-5);
  }
}

TEST_F(SynthCorpus, EveryStemSoundsAndTheGuitarIsAudibleInTheMix) {
  for (const std::string& track : made().tracks_written) {
    const fs::path dir = corpus() / track;
    const YAML::Node meta = YAML::LoadFile((dir / metadata_filename(track)).string());
    auto rms = [](const Audio& a) {
      double s = 0;
      for (float x : a.samples) s += static_cast<double>(x) * x;
      return std::sqrt(s / static_cast<double>(a.samples.size()));
    };
    const double mix_rms = rms(read_audio(dir / mix_filename(track)));
    double guitar_rms = 0;
    for (const auto& stem : meta["stems"]) {
      const Audio audio = read_audio(dir / stem_dir_name(track) / stem.second["filename"].as<std::string>());
      const double r = rms(audio);
      EXPECT_GT(r, 1e-3) << track << " " << stem.first.as<std::string>() << " is (nearly) silent";
      if (is_guitar_label(stem.second["instrument"].as<std::string>())) guitar_rms = std::max(guitar_rms, r);
    }
    EXPECT_GT(guitar_rms, 0.1 * mix_rms) << track << ": the guitar is buried (more than 20 dB under the mix)";
  }
}

TEST_F(SynthCorpus, MetadataFollowsMedleyDbAndRecordsTheMix) {
  std::set<std::string> artists;
  for (const std::string& track : made().tracks_written) {
    const fs::path dir = corpus() / track;
    const YAML::Node meta = YAML::LoadFile((dir / metadata_filename(track)).string());
    for (const char* field : {"artist", "title", "genre", "has_bleed", "mix_filename", "stem_dir", "stems", "version"})
      EXPECT_TRUE(meta[field].IsDefined()) << track << " lacks " << field;
    EXPECT_EQ(meta["has_bleed"].as<std::string>(), "no");
    EXPECT_EQ(meta["mix_filename"].as<std::string>(), track + "_MIX.wav");
    EXPECT_EQ(meta["stem_dir"].as<std::string>(), track + "_STEMS");
    EXPECT_EQ(track_id(meta["artist"].as<std::string>(), meta["title"].as<std::string>()), track);
    artists.insert(meta["artist"].as<std::string>());
    int n = 0, guitars = 0;
    for (const auto& stem : meta["stems"]) {
      ++n;
      char id[16];
      std::snprintf(id, sizeof id, "S%02d", n);
      EXPECT_EQ(stem.first.as<std::string>(), id);
      const YAML::Node s = stem.second;
      const std::string label = s["instrument"].as<std::string>();
      EXPECT_TRUE(kMedleyDbLabels.count(label)) << "'" << label << "' is not a MedleyDB label";
      EXPECT_EQ(s["filename"].as<std::string>(), stem_filename(track, n));
      EXPECT_TRUE(s["component"].IsDefined());
      EXPECT_EQ(s["raw"]["R01"]["instrument"].as<std::string>(), label);
      guitars += is_guitar_label(label);
      const YAML::Node synth = s["synthesis"];
      EXPECT_EQ(synth["soundfont"].as<std::string>(), "TimGM6mb.sf2");
      EXPECT_GT(synth["gain"].as<double>(), 0.0);
      EXPECT_GE(synth["pan"].as<double>(), -1.0);
      EXPECT_LE(synth["pan"].as<double>(), 1.0);
      EXPECT_TRUE(synth["reverb"]["active"].IsDefined());
      EXPECT_TRUE(synth["chorus"]["active"].IsDefined());
      EXPECT_EQ(synth["patterns"].size(), meta["synthesis"]["sections"].size());
    }
    EXPECT_GE(n, 3);
    EXPECT_GE(guitars, 1) << track << " has no guitar stem";
    EXPECT_EQ(meta["synthesis"]["seed"].as<std::uint64_t>(), 11u);
    EXPECT_GT(meta["synthesis"]["mix_scale"].as<double>(), 0.0);
  }
  for (std::string_view label : all_labels()) EXPECT_TRUE(kMedleyDbLabels.count(std::string(label))) << label;
}

// The realism features: processed guitars (effects chains in the metadata), a mastered mix at its drawn
// loudness with peaks at the ceiling, the arrangement fields, all recorded per song and stem.
TEST_F(SynthCorpus, RecordsTheStudioChainAndTheMasterAndReachesTheLoudness) {
  int processed_guitars = 0;
  for (const std::string& track : made().tracks_written) {
    SCOPED_TRACE(track);
    const fs::path dir = corpus() / track;
    const YAML::Node meta = YAML::LoadFile((dir / metadata_filename(track)).string());
    const YAML::Node synth = meta["synthesis"];
    for (const char* field : {"style", "guitar_tuning", "mastering"}) EXPECT_TRUE(synth[field].IsDefined()) << field;
    const YAML::Node m = synth["mastering"];
    ASSERT_TRUE(m["active"].as<bool>());
    const double target = m["target_lufs"].as<double>();
    EXPECT_GE(target, -14.0);
    EXPECT_LE(target, -7.0);
    const double lufs = integrated_loudness(read_audio(dir / mix_filename(track)));
    EXPECT_NEAR(lufs, m["lufs"].as<double>(), 1e-3) << "the written mix is the one measured";
    EXPECT_NEAR(lufs, target, 1.0);
    EXPECT_LE(m["peak"].as<double>(), std::pow(10.0, m["ceiling_dbfs"].as<double>() / 20.0) * (1 + 1e-5));
    for (const char* field : {"compressor", "limiter", "makeup_db", "lufs_before", "method"})
      EXPECT_TRUE(m[field].IsDefined()) << field;
    for (const auto& stem : meta["stems"]) {
      const YAML::Node st = stem.second["synthesis"];
      const YAML::Node fx = st["effects"];
      ASSERT_TRUE(fx.IsDefined()) << stem.first;
      ASSERT_TRUE(fx["active"].as<bool>()) << "every stem gets at least the mix EQ";
      for (const char* chain : {"chain", "insert", "send", "mix"}) EXPECT_TRUE(fx[chain].IsDefined()) << chain;
      for (const auto& plugin : fx["insert"]) EXPECT_TRUE(plugin["uri"].IsDefined() && plugin["controls"].IsMap());
      if (st["role"].as<std::string>() != "guitar") continue;
      EXPECT_TRUE(st["guitar_role"].IsDefined());
      if (st["guitar_kind"].as<std::string>() != "acoustic") {
        // an electric guitar goes through an amp and a cabinet
        bool amp = false, cabinet = false;
        for (const auto& plugin : fx["insert"]) {
          const std::string uri = plugin["uri"].as<std::string>();
          cabinet |= uri.find("gx_cabinet") != std::string::npos;
          amp |= uri.find("guitarix") != std::string::npos && uri.find("gx_cabinet") == std::string::npos &&
                 uri.find("gxts9") == std::string::npos;
        }
        EXPECT_TRUE(amp && cabinet) << stem.first;
      }
      ++processed_guitars;
    }
  }
  EXPECT_GE(processed_guitars, 1);
}

// Each realism feature switches off: no plugins gives FluidSynth's own guitars and no chains, no mastering
// gives the plain scaled sum; --raw writes the dry renders in MedleyDB's RAW folder.
TEST_F(SynthCorpus, FeaturesSwitchOffAndRawTracksComeOnRequest) {
  CorpusOptions plain = small_corpus(scratch("plain"));
  plain.songs = 1;
  plain.plugins = false;
  plain.mastering = false;
  plain.raw = true;
  const CorpusResult r = synthesize_corpus(plain);
  ASSERT_EQ(r.tracks_written.size(), 1u);
  const std::string track = r.tracks_written[0];
  const fs::path dir = plain.out / track;
  const YAML::Node meta = YAML::LoadFile((dir / metadata_filename(track)).string());
  EXPECT_FALSE(meta["synthesis"]["mastering"]["active"].as<bool>());
  int n = 0;
  for (const auto& stem : meta["stems"]) {
    ++n;
    EXPECT_FALSE(stem.second["synthesis"]["effects"]["active"].as<bool>());
    const fs::path raw = dir / raw_dir_name(track) / raw_filename(track, n);
    ASSERT_TRUE(fs::exists(raw)) << raw;
    const Audio dry = read_audio(raw), wet = read_audio(dir / stem_dir_name(track) / stem_filename(track, n));
    EXPECT_EQ(dry.frames, wet.frames);
    EXPECT_GT(active_rms(dry), 1e-4);
  }
}

TEST(SynthStem, AMissingPluginIsAOneLineErrorNamingItAndTheStem) {
  SongPlan plan;
  plan.track_id = "Band_Song";
  plan.sample_rate = 44100;
  plan.frames = 44100;
  Part part;
  part.role = Role::Guitar;
  part.instrument = melodic_instrument(27);
  part.effects.insert.push_back({"http://example.org/no-such-plugin", {}});
  plan.parts.push_back(part);
  Audio render;
  render.sample_rate = 44100;
  render.channels = 2;
  render.frames = 44100;
  render.samples.assign(2 * 44100, 0.f);
  for (std::int64_t i = 0; i < render.frames; ++i)
    render.channel(0)[i] = render.channel(1)[i] = static_cast<float>(0.1 * std::sin(0.05 * static_cast<double>(i)));
  try {
    place_stem(plan, 0, render);
    FAIL() << "no error for a plugin that is not installed";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_NE(what.find("Band_Song stem 1"), std::string::npos) << what;
    EXPECT_NE(what.find("http://example.org/no-such-plugin"), std::string::npos) << what;
  }
}

TEST_F(SynthCorpus, SameSeedGivesIdenticalBytesWhateverTheThreadCount) {
  made();
  CorpusOptions again = small_corpus(scratch("again"));
  again.jobs = 1;
  synthesize_corpus(again);
  const auto files = tree(corpus());
  ASSERT_EQ(tree(again.out), files);
  for (const fs::path& f : files) EXPECT_TRUE(file_bytes(corpus() / f) == file_bytes(again.out / f)) << f;

  CorpusOptions other = small_corpus(scratch("other-seed"));
  other.seed = 12;
  other.songs = 1;
  const CorpusResult r = synthesize_corpus(other);
  ASSERT_EQ(r.tracks_written.size(), 1u);
  const fs::path mix = r.tracks_written[0] + "/" + mix_filename(r.tracks_written[0]);
  EXPECT_FALSE(fs::exists(corpus() / mix) && file_bytes(corpus() / mix) == file_bytes(other.out / mix));
}

TEST_F(SynthCorpus, SoundfontOptionRestrictsTheFonts) {
  // A second font the corpus could not know: TimGM6mb under another name.
  const fs::path copy = scratch("fonts") / "HeldOutGM.sf2";
  fs::create_directories(copy.parent_path());
  fs::copy_file(kTimGM6mb, copy);
  CorpusOptions o = small_corpus(scratch("restricted"));
  o.songs = 2;
  o.seconds = 2;
  o.soundfonts = {copy};
  const CorpusResult r = synthesize_corpus(o);
  EXPECT_EQ(r.soundfonts, std::vector<std::string>{"HeldOutGM.sf2"});
  std::set<std::string> used;
  for (const std::string& track : r.tracks_written) {
    const YAML::Node meta = YAML::LoadFile((o.out / track / metadata_filename(track)).string());
    for (const auto& stem : meta["stems"]) used.insert(stem.second["synthesis"]["soundfont"].as<std::string>());
  }
  EXPECT_EQ(used, std::set<std::string>{"HeldOutGM.sf2"});
}

TEST_F(SynthCorpus, InterruptedRunKeepsOnlyWholeSongsAndResumesToTheSameCorpus) {
  made();
  CorpusOptions o = small_corpus(scratch("interrupted"));
  o.jobs = 1;
  std::atomic<bool> stop{false};
  const CorpusResult first = synthesize_corpus(o, &stop, [&](const CorpusProgress& p) {
    if (p.songs_done >= 1) stop = true;
  });
  EXPECT_TRUE(first.interrupted);
  ASSERT_GE(first.tracks_written.size(), 1u);
  ASSERT_LT(first.tracks_written.size(), 3u);
  const auto names = entries(o.out);
  EXPECT_EQ(names.size(), first.tracks_written.size()) << "a partial or temporary folder was left behind";
  for (const fs::path& name : names) expect_whole_track(o.out / name);

  // Without --resume the finished songs are in the way; with it, the rest is made, and the result is
  // the corpus an uninterrupted run makes.
  EXPECT_THROW(synthesize_corpus(o), unmix::Error);
  o.resume = true;
  const CorpusResult second = synthesize_corpus(o);
  EXPECT_FALSE(second.interrupted);
  EXPECT_EQ(second.songs_skipped, static_cast<int>(first.tracks_written.size()));
  const auto files = tree(corpus());
  ASSERT_EQ(tree(o.out), files);
  for (const fs::path& f : files) EXPECT_TRUE(file_bytes(corpus() / f) == file_bytes(o.out / f)) << f;
}

TEST_F(SynthCorpus, FailureMidRunLeavesNoPartialSong) {
  CorpusOptions o = small_corpus(scratch("failed"));
  o.jobs = 1;
  EXPECT_THROW(synthesize_corpus(o, nullptr,
                                 [](const CorpusProgress& p) {
                                   if (p.stems_done >= 2) throw std::runtime_error("simulated failure");
                                 }),
               std::runtime_error);
  for (const fs::path& name : entries(o.out)) {
    EXPECT_NE(name.string().front(), '.') << "temporary folder left behind: " << name;
    expect_whole_track(o.out / name);
  }
  EXPECT_LT(entries(o.out).size(), 3u);
}

TEST_F(SynthCorpus, BadSoundfontIsAOneLineErrorNamingIt) {
  auto message_of = [](const CorpusOptions& o) -> std::string {
    try {
      synthesize_corpus(o);
    } catch (const unmix::Error& e) {
      return e.what();
    }
    return "";
  };
  CorpusOptions o = small_corpus(scratch("bad-font"));
  o.soundfonts = {"/no/such/dir/Missing.sf2"};
  std::string message = message_of(o);
  EXPECT_NE(message.find("/no/such/dir/Missing.sf2"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);

  const fs::path fake = scratch("fonts-bad") / "NotAFont.sf2";
  fs::create_directories(fake.parent_path());
  std::ofstream(fake) << "this is not a soundfont\n";
  o.soundfonts = {kTimGM6mb, fake};
  message = message_of(o);
  EXPECT_NE(message.find("NotAFont.sf2"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_FALSE(fs::exists(o.out) && !entries(o.out).empty()) << "nothing is written when a font is bad";

  o.soundfonts = {kTimGM6mb};
  o.seconds = 0;
  EXPECT_THROW(synthesize_corpus(o), unmix::Error);
}
