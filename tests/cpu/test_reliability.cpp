// Hostile input to the commands, run as processes: every case ends in a one-line error that names the
// file or the flag and exit status 1 (never a signal, an abort or a hang), and nothing non-finite is cached,
// trained on or loaded as a model.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"
#include "test_train_corpus.h"
#include "unmix/audio.h"
#include "unmix/data/cache.h"
#include "unmix/error.h"
#include "unmix/limits.h"
#include "unmix/model_dir.h"
#include "unmix/safetensors.h"
#include "unmix/separator.h"
#include "unmix/train/checkpoint.h"

namespace {

namespace fs = std::filesystem;
namespace st = unmix::safetensors;
using namespace unmix;

fs::path tool(const std::string& name) {
  // tests live in <build>/tests, tools in <build>/tools
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / name;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// A 32-bit float WAV written byte by byte: write_audio refuses non-finite samples, other programs do not.
void write_float_wav(const fs::path& path, const Audio& a) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  auto u32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](std::uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  const auto channels = static_cast<std::uint16_t>(a.channels);
  const auto data_bytes = static_cast<std::uint32_t>(a.samples.size() * 4);
  out.write("RIFF", 4);
  u32(36 + data_bytes);
  out.write("WAVEfmt ", 8);
  u32(16);
  u16(3);  // IEEE float
  u16(channels);
  u32(static_cast<std::uint32_t>(a.sample_rate));
  u32(static_cast<std::uint32_t>(a.sample_rate) * 4u * channels);
  u16(static_cast<std::uint16_t>(4 * channels));
  u16(32);
  out.write("data", 4);
  u32(data_bytes);
  for (std::int64_t i = 0; i < a.frames; ++i)
    for (int c = 0; c < a.channels; ++c) out.write(reinterpret_cast<const char*>(&a.channel(c)[i]), 4);
}

struct ToolRun {
  int code = -1;  // the exit status; 124/137 when `timeout` had to stop it, 128 + n for a signal
  std::string output;
};

// Runs build/tools/<name> with `args` (shell words), stdout and stderr together, killed after `seconds`.
ToolRun run_tool(const fs::path& dir, const std::string& name, const std::string& args, int seconds = 120) {
  static int counter = 0;
  const fs::path log = dir / ("run-" + std::to_string(counter++) + ".log");
  const std::string cmd = "timeout -s KILL " + std::to_string(seconds) + " " + tool(name).string() + " " + args +
                          " > " + quoted(log) + " 2>&1 < /dev/null";
  const int status = std::system(cmd.c_str());
  ToolRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.output = read_text(log);
  return r;
}

// Exit 1, and a line of the output holds every one of `needles` (the flag or file and the problem).
void expect_refused(const ToolRun& r, const std::vector<std::string>& needles) {
  EXPECT_EQ(r.code, 1) << r.output;
  for (const char* crash : {"terminate called", "Aborted", "core dumped", "Segmentation", "Bus error", "bad_alloc"})
    EXPECT_EQ(r.output.find(crash), std::string::npos) << r.output;
  std::istringstream lines(r.output);
  bool found = false;
  for (std::string line; std::getline(lines, line) && !found;) {
    bool all = true;
    for (const auto& n : needles) all = all && line.find(n) != std::string::npos;
    found = all;
  }
  EXPECT_TRUE(found) << "no line holds all of the expected words; output:\n" << r.output;
}

class Reliability : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(test::temp_dir("reliability"));
    const auto manifest = test::write_corpus(*dir_ / "corpus", 3, 1, 2.0);
    data::save_manifest(manifest, *dir_ / "manifest.json");
    test::write_corpus_cache(manifest, *dir_ / "corpus", *dir_ / "cache");
    save_model(*dir_ / "model", "guitar", tiny_model());
    // one track of true sources in evaluate's --references layout
    fs::create_directories(*dir_ / "refs");
    const fs::path song1 = *dir_ / "corpus" / "Song1";
    fs::copy_file(song1 / "Song1_STEMS" / "Song1_STEM_01.wav", *dir_ / "refs" / "guitar.wav");
    fs::copy_file(song1 / "Song1_STEMS" / "Song1_STEM_02.wav", *dir_ / "refs" / "residual.wav");
    fs::copy_file(song1 / "Song1_MIX.wav", *dir_ / "refs" / "mixture.wav");
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  void SetUp() override {
    for (const char* name : {"separate", "evaluate", "oracle", "preprocess", "train", "synthesize", "make_manifests"})
      ASSERT_TRUE(fs::exists(tool(name))) << tool(name) << " is not built";
    work_ = test::temp_dir("reliability-case");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(work_, ec);
  }

  static UmxWeights tiny_model() {
    ModelConfig c;
    c.nfft = 512;
    c.nhop = 128;
    c.nb_bins = c.nfft / 2 + 1;
    c.max_bin = c.nb_bins;
    c.nb_channels = 2;
    c.hidden_size = 8;
    c.sample_rate = test::kCorpusRate;
    c.bandwidth = c.sample_rate / 2;
    UmxWeights w(c);
    w.init_synthetic(7);
    return w;
  }
  static fs::path song() { return *dir_ / "corpus" / "Song1" / "Song1_MIX.wav"; }
  // A small CPU run; `extra` flags replace the defaults of the same name.
  static std::string train_args(const fs::path& output, const std::map<std::string, std::string>& extra = {}) {
    std::map<std::string, std::string> flags{{"--batch-size", "2"}, {"--seq-dur", "0.5"}, {"--samples-per-track", "2"},
                                             {"--hidden-size", "8"}, {"--nfft", "512"},   {"--nhop", "128"},
                                             {"--workers", "1"}};
    for (const auto& [flag, value] : extra) flags[flag] = value;
    std::string args = "--cache " + quoted(*dir_ / "cache") + " --output " + quoted(output) + " --device cpu";
    for (const auto& [flag, value] : flags) args += " " + flag + " " + value;
    return args;
  }

  static fs::path* dir_;
  fs::path work_;
};

fs::path* Reliability::dir_ = nullptr;

// ---------------------------------------------------------------- numeric flags

TEST_F(Reliability, ThreadCountsBeyondTheMachineAreRefusedByFlag) {
  const std::string model = " --model " + quoted(*dir_ / "model") + " ";
  expect_refused(run_tool(work_, "separate", "--device cpu --threads 100000" + model + quoted(song())), {"--threads", "100000"});
  expect_refused(run_tool(work_, "evaluate", "--references " + quoted(*dir_ / "refs") + " --oracle IRM1 --threads 100000"),
                 {"--threads", "100000"});
  expect_refused(run_tool(work_, "oracle", "--references " + quoted(*dir_ / "refs") + " --out " + quoted(work_ / "o") +
                                          " --threads 100000"),
                 {"--threads", "100000"});
  expect_refused(run_tool(work_, "preprocess", "--manifest " + quoted(*dir_ / "manifest.json") + " --root " +
                                              quoted(*dir_ / "corpus") + " --out " + quoted(work_ / "c") +
                                              " --threads 100000"),
                 {"--threads", "100000"});
  expect_refused(run_tool(work_, "train", train_args(work_ / "run", {{"--workers", "100000"}})), {"--workers", "100000"});
  expect_refused(run_tool(work_, "synthesize", "--out " + quoted(work_ / "s") + " --songs 1 --jobs 100000"),
                 {"--jobs", "100000"});
}

TEST_F(Reliability, ImpossibleSizesAreRefusedByFlag) {
  const std::string pre = "--manifest " + quoted(*dir_ / "manifest.json") + " --root " + quoted(*dir_ / "corpus") +
                          " --out " + quoted(work_ / "c");
  expect_refused(run_tool(work_, "preprocess", pre + " --sample-rate 2000000000"), {"--sample-rate", "2000000000"});
  expect_refused(run_tool(work_, "preprocess", pre + " --nfft 1000000000"), {"--nfft", "1000000000"});
  expect_refused(run_tool(work_, "train", train_args(work_ / "run", {{"--nfft", "1000000000"}})), {"--nfft"});
  expect_refused(run_tool(work_, "train", train_args(work_ / "run", {{"--batch-size", "2000000000"}})), {"--batch-size"});
  expect_refused(run_tool(work_, "evaluate", "--references " + quoted(*dir_ / "refs") + " --oracle IRM1 --hop 1e-9"),
                 {"--hop"});
  expect_refused(run_tool(work_, "synthesize", "--out " + quoted(work_ / "s") + " --songs 1 --first-song 2147483647"),
                 {"--first-song", "2147483647"});
  EXPECT_FALSE(fs::exists(work_ / "c" / "index.json"));
}

// A mono 16-bit WAV at the corpus rate whose header claims `frames` samples of silence: the data is a
// hole in a sparse file, so hours of audio take no disk space and no time to write.
void write_sparse_wav(const fs::path& path, std::uint32_t frames) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    auto u32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](std::uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
    const std::uint32_t data_bytes = frames * 2u;
    out.write("RIFF", 4);
    u32(36 + data_bytes);
    out.write("WAVEfmt ", 8);
    u32(16);
    u16(1);  // PCM
    u16(1);
    u32(test::kCorpusRate);
    u32(test::kCorpusRate * 2u);
    u16(2);
    u16(16);
    out.write("data", 4);
    u32(data_bytes);
  }
  fs::resize_file(path, 44 + std::uintmax_t{frames} * 2u);
}

TEST_F(Reliability, SeparatorSettingsBeyondTheirBoundsAreRefusedByFlag) {
  const std::string common = "--device cpu --model " + quoted(*dir_ / "model") + " --outdir " + quoted(work_ / "sep") + " ";
  struct Case {
    std::string flag, value, range;
  };
  for (const Case& c : std::vector<Case>{{"--niter", "101", "[0, 100]"},
                                         {"--niter", "-1", "[0, 100]"},
                                         {"--wiener-win-len", "1048577", "[0, 1048576]"},
                                         {"--chunk-windows", "1025", "[1, 1024]"},
                                         {"--chunk-windows", "0", "[1, 1024]"},
                                         {"--context-frames", "1048577", "[0, 1048576]"},
                                         {"--context-frames", "2000000000", "[0, 1048576]"}}) {
    SCOPED_TRACE(c.flag + " " + c.value);
    expect_refused(run_tool(work_, "separate", common + c.flag + " " + c.value + " " + quoted(song())),
                   {c.flag, c.value, c.range});
    EXPECT_FALSE(fs::exists(work_ / "sep")) << "refused before any work";
  }
  // The largest values are still taken: a 2 s song is done in one piece whatever the chunk settings.
  const ToolRun most = run_tool(work_, "separate", common + "--niter 100 --wiener-win-len 1048576 --chunk-windows 1024 "
                                                   "--context-frames 1048576 " + quoted(song()));
  ASSERT_EQ(most.code, 0) << most.output;
  for (const char* source : {"guitar.wav", "residual.wav"})
    EXPECT_EQ(read_audio(work_ / "sep" / "Song1_MIX" / source).frames, read_audio(song()).frames) << source;
}

TEST_F(Reliability, ChunksLargerThanTheMachinesMemoryAreRefusedByFlag) {
  // About 2^31 samples (37 hours at 16 kHz): in one piece about 500 GB for this model, more than a machine has.
  const std::uint32_t frames = (1u << 31) - 64;
  if (available_memory_bytes() > (std::int64_t{400} << 30)) GTEST_SKIP() << "this machine has over 400 GB available";
  const fs::path wav = work_ / "long.wav";
  write_sparse_wav(wav, frames);
  const std::string common = "--device cpu --model " + quoted(*dir_ / "model") + " --outdir " + quoted(work_ / "sep") + " ";
  // --wiener-win-len 0: the whole file at once
  expect_refused(run_tool(work_, "separate", common + "--wiener-win-len 0 " + quoted(wav), 60),
                 {"long.wav", "--wiener-win-len", "whole file", "GB", "available"});
  // chunk settings so large that the file is one chunk
  expect_refused(run_tool(work_, "separate", common + "--chunk-windows 1024 --wiener-win-len 1048576 " + quoted(wav), 60),
                 {"long.wav", "--chunk-windows 1024", "--wiener-win-len 1048576", "--context-frames 128", "available"});
  EXPECT_FALSE(fs::exists(work_ / "sep" / "long")) << "refused before any output was opened";
  // and other files of the same call are still separated (exit 1 for the refused one)
  const ToolRun both = run_tool(work_, "separate", common + "--wiener-win-len 0 " + quoted(wav) + " " + quoted(song()), 60);
  EXPECT_EQ(both.code, 1) << both.output;
  EXPECT_TRUE(fs::exists(work_ / "sep" / "Song1_MIX" / "guitar.wav")) << both.output;
}

// ---------------------------------------------------------------- temporary files of killed runs

// Leftovers in `dir`: an AtomicFile temporary of a process that is gone (pid 999999999 cannot exist) to be
// swept, one of a running process (this test) and a file of another kind to be kept.
struct PlantedTemporaries {
  fs::path stale, live, other;
  explicit PlantedTemporaries(const fs::path& dir)
      : stale(dir / ".summary.csv.tmp.999999999.0"),
        live(dir / (".summary.csv.tmp." + std::to_string(::getpid()) + ".0")),
        other(dir / ".notes.tmp.backup") {
    fs::create_directories(dir);
    for (const fs::path& p : {stale, live, other}) std::ofstream(p) << "left over";
  }
  void expect_swept() const {
    EXPECT_FALSE(fs::exists(stale)) << stale;
    EXPECT_TRUE(fs::exists(live)) << "a running process's temporary file was removed: " << live;
    EXPECT_TRUE(fs::exists(other)) << other;
  }
};

TEST_F(Reliability, OracleSweepsTemporaryFilesOfKilledRuns) {
  const std::string args = "--references " + quoted(*dir_ / "refs") + " --methods IRM1 --out " + quoted(work_ / "o");
  const ToolRun first = run_tool(work_, "oracle", args);
  ASSERT_EQ(first.code, 0) << first.output;
  ASSERT_TRUE(fs::exists(work_ / "o" / "IRM1" / "refs" / "guitar.wav")) << first.output;
  const PlantedTemporaries planted(work_ / "o" / "IRM1" / "refs");
  const ToolRun again = run_tool(work_, "oracle", args);
  ASSERT_EQ(again.code, 0) << again.output;
  planted.expect_swept();
}

TEST_F(Reliability, EvaluateSweepsTemporaryFilesOfKilledRuns) {
  const PlantedTemporaries top(work_ / "e"), method(work_ / "e" / "IRM1");
  const ToolRun r = run_tool(work_, "evaluate", "--references " + quoted(*dir_ / "refs") + " --oracle IRM1 --out " +
                                                    quoted(work_ / "e"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(work_ / "e" / "summary.csv")) << r.output;
  top.expect_swept();
  method.expect_swept();
}

TEST_F(Reliability, SynthesizeSweepsTemporaryFilesOfKilledRunsAndResumes) {
  const std::string args = "--out " + quoted(work_ / "s") + " --seconds 1 --jobs 1 --no-plugins";
  const ToolRun first = run_tool(work_, "synthesize", args + " --songs 1");
  ASSERT_EQ(first.code, 0) << first.output;
  std::vector<fs::path> songs;
  for (const auto& e : fs::directory_iterator(work_ / "s")) songs.push_back(e.path());
  ASSERT_EQ(songs.size(), 1u);
  const PlantedTemporaries planted(work_ / "s");
  // a song folder of a killed run, and one a running process is still writing
  const fs::path stale_song = work_ / "s" / ".synthesize-999999999-Song9";
  const fs::path live_song = work_ / "s" / (".synthesize-" + std::to_string(::getpid()) + "-Song9");
  fs::create_directories(stale_song);
  fs::create_directories(live_song);
  const ToolRun resumed = run_tool(work_, "synthesize", args + " --songs 2 --resume");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("kept 1 existing"), std::string::npos) << resumed.output;
  planted.expect_swept();
  EXPECT_FALSE(fs::exists(stale_song));
  EXPECT_TRUE(fs::exists(live_song));
  std::size_t finished = 0;
  for (const auto& e : fs::directory_iterator(work_ / "s")) finished += e.path().filename().string()[0] != '.';
  EXPECT_EQ(finished, 2u);
}

// ---------------------------------------------------------------- files that are not what they seem

TEST_F(Reliability, SymbolicLinkLoopsAreErrorsNamingTheFile) {
  // make_manifests: a metadata file that is a link loop
  fs::create_directories(work_ / "meta");
  fs::create_symlink("Loop_METADATA.yaml", work_ / "meta" / "Loop_METADATA.yaml");
  expect_refused(run_tool(work_, "make_manifests", "--metadata " + quoted(work_ / "meta") + " --target guitar --out " +
                                                  quoted(work_ / "m.json")),
                 {"Loop_METADATA.yaml", "symbolic links"});
  // ... and in a --root layout
  fs::create_directories(work_ / "root" / "Loop");
  fs::create_symlink("Loop_METADATA.yaml", work_ / "root" / "Loop" / "Loop_METADATA.yaml");
  expect_refused(run_tool(work_, "make_manifests", "--root " + quoted(work_ / "root") + " --target guitar --out " +
                                                  quoted(work_ / "m.json")),
                 {"Loop_METADATA.yaml", "symbolic links"});
  EXPECT_FALSE(fs::exists(work_ / "m.json"));

  // preprocess: a stem that is a link loop is reported by name (strict: an error); the other tracks are cached
  fs::copy(*dir_ / "corpus", work_ / "corpus", fs::copy_options::recursive);
  const fs::path stem = work_ / "corpus" / "Song2" / "Song2_STEMS" / "Song2_STEM_01.wav";
  fs::remove(stem);
  fs::create_symlink(stem.filename(), stem);
  const std::string pre = "--manifest " + quoted(*dir_ / "manifest.json") + " --root " + quoted(work_ / "corpus") +
                          " --sample-rate 16000 --nfft 512 --nhop 128 --out " + quoted(work_ / "c");
  expect_refused(run_tool(work_, "preprocess", pre + " --strict"), {"Song2_STEM_01.wav", "symbolic links"});
  const ToolRun lenient = run_tool(work_, "preprocess", pre);
  EXPECT_EQ(lenient.code, 0) << lenient.output;
  EXPECT_NE(lenient.output.find("Song2_STEM_01.wav: unreadable: Too many levels of symbolic links"), std::string::npos)
      << lenient.output;
  EXPECT_EQ(data::Cache::open(work_ / "c").tracks().size(), 2u);
  const ToolRun separate =
      run_tool(work_, "separate", "--device cpu --model " + quoted(*dir_ / "model") + " --outdir " + quoted(work_ / "sep") + " " + quoted(stem));
  expect_refused(separate, {"Song2_STEM_01.wav", "symbolic links"});
}

TEST_F(Reliability, Latin1MetadataIsDecodedAndLatin1FileNamesAreRefused) {
  fs::create_directories(work_ / "meta");
  const std::string yaml = std::string("artist: Mot\xF6rhead\ntitle: Ace\nhas_bleed: no\nstems:\n") +
                           "  S01:\n    instrument: clean electric guitar\n  S02:\n    instrument: drum set\n";
  std::ofstream(work_ / "meta" / "Ace_METADATA.yaml", std::ios::binary) << yaml;
  const ToolRun ok = run_tool(work_, "make_manifests", "--metadata " + quoted(work_ / "meta") +
                                                  " --target 'clean electric guitar' --valid 0 --test 0 --out " +
                                                  quoted(work_ / "m.json"));
  ASSERT_EQ(ok.code, 0) << ok.output;
  EXPECT_NE(read_text(work_ / "m.json").find("Mot\xC3\xB6rhead"), std::string::npos) << read_text(work_ / "m.json");

  std::ofstream(work_ / "meta" / "Ace_METADATA.yaml", std::ios::binary)
      << yaml << "    filename: Ace_STEM_\xE9t\xE9.wav\n";
  expect_refused(run_tool(work_, "make_manifests", "--metadata " + quoted(work_ / "meta") +
                                                  " --target 'clean electric guitar' --out " + quoted(work_ / "m2.json")),
                 {"Ace_METADATA.yaml", "filename", "not UTF-8"});
}

TEST_F(Reliability, FifoAsAudioIsRefusedAtOnce) {
  const fs::path fifo = work_ / "song.wav";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const ToolRun r = run_tool(work_, "separate", "--device cpu --model " + quoted(*dir_ / "model") + " --outdir " +
                                           quoted(work_ / "sep") + " " + quoted(fifo),
                    30);
  expect_refused(r, {"song.wav", "not a regular file"});
}

TEST_F(Reliability, OneHertzHeaderNamesTheFileAndPreprocessSkipsTheTrack) {
  fs::copy(*dir_ / "corpus", work_ / "corpus", fs::copy_options::recursive);
  const fs::path stem = work_ / "corpus" / "Song2" / "Song2_STEMS" / "Song2_STEM_01.wav";
  Audio one_hz = read_audio(stem);
  one_hz.sample_rate = 1;
  one_hz.frames = 100;
  one_hz.samples.resize(200);
  write_audio(stem, one_hz, SampleFormat::Float32);

  const ToolRun pre = run_tool(work_, "preprocess", "--manifest " + quoted(*dir_ / "manifest.json") + " --root " +
                                               quoted(work_ / "corpus") +
                                               " --sample-rate 16000 --nfft 512 --nhop 128 --out " + quoted(work_ / "c"));
  EXPECT_EQ(pre.code, 0) << pre.output;
  EXPECT_NE(pre.output.find("Song2_STEM_01.wav: unreadable"), std::string::npos) << pre.output;
  EXPECT_EQ(data::Cache::open(work_ / "c").tracks().size(), 2u);

  expect_refused(run_tool(work_, "separate", "--device cpu --model " + quoted(*dir_ / "model") + " --outdir " +
                                            quoted(work_ / "sep") + " " + quoted(stem)),
                 {"Song2_STEM_01.wav", "ratio"});
}

// ---------------------------------------------------------------- no silent NaN

TEST_F(Reliability, NonFiniteSamplesLeaveTheTrackOutOfTheCacheByName) {
  fs::copy(*dir_ / "corpus", work_ / "corpus", fs::copy_options::recursive);
  const fs::path stem = work_ / "corpus" / "Song1" / "Song1_STEMS" / "Song1_STEM_02.wav";
  Audio bass = read_audio(stem);
  bass.samples[1234] = std::numeric_limits<float>::quiet_NaN();
  bass.samples[bass.samples.size() - 1] = std::numeric_limits<float>::infinity();
  write_float_wav(stem, bass);
  const std::string pre = "--manifest " + quoted(*dir_ / "manifest.json") + " --root " + quoted(work_ / "corpus") +
                          " --sample-rate 16000 --nfft 512 --nhop 128 --out " + quoted(work_ / "c");
  const ToolRun r = run_tool(work_, "preprocess", pre);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("Song1_STEM_02.wav: NaN or infinite samples"), std::string::npos) << r.output;
  const data::Cache cache = data::Cache::open(work_ / "c");
  ASSERT_EQ(cache.tracks().size(), 2u);
  for (const auto& t : cache.tracks()) EXPECT_NE(t.id, "Song1");
  for (float v : cache.statistics().mean) EXPECT_TRUE(std::isfinite(v));
  expect_refused(run_tool(work_, "preprocess", pre + " --strict"), {"Song1_STEM_02.wav", "NaN"});
  // separate names the input, not an output, and writes nothing
  expect_refused(run_tool(work_, "separate", "--device cpu --model " + quoted(*dir_ / "model") + " --outdir " +
                                            quoted(work_ / "sep") + " " + quoted(stem)),
                 {"Song1_STEM_02.wav", "NaN or infinite sample"});
  EXPECT_FALSE(fs::exists(work_ / "sep" / "Song1_STEM_02" / "guitar.wav"));
}

TEST_F(Reliability, HugeLearningRateStopsTrainingWithoutSavingANonFiniteModel) {
  const fs::path out = work_ / "run";
  const ToolRun r = run_tool(work_, "train", train_args(out, {{"--epochs", "3"}, {"--lr", "1e30"}}));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("is not finite"), std::string::npos) << r.output;
  // whatever was saved is finite: the model (if an epoch was good) and the checkpoint load
  if (fs::exists(model_weights_path(out, "guitar"))) {
    EXPECT_NO_THROW(load_model(out, "guitar"));
  }
  if (fs::exists(train::checkpoint_path(out))) {
    EXPECT_NO_THROW(train::load_checkpoint(train::checkpoint_path(out)));
  }
}

TEST_F(Reliability, ModelsWithNonFiniteWeightsOrImpossibleRatesAreRefused) {
  fs::copy(*dir_ / "model", work_ / "model");
  // a NaN weight, in a file without a checksum (as another program would write it)
  st::File f = st::read(work_ / "model" / "guitar.safetensors");
  f.metadata.erase(std::string(st::kChecksumKey));
  for (auto& t : f.tensors)
    if (t.name == "fc2.weight") {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(t.data.data() + 8, &nan, sizeof nan);
    }
  st::write(work_ / "model" / "guitar.safetensors", f.tensors, f.metadata);
  const std::string args = "--device cpu --model " + quoted(work_ / "model") + " --outdir " + quoted(work_ / "sep") + " " +
                           quoted(song());
  expect_refused(run_tool(work_, "separate", args), {"guitar.safetensors", "fc2.weight", "non-finite"});

  fs::remove_all(work_ / "model");
  fs::copy(*dir_ / "model", work_ / "model");
  std::string json = read_text(work_ / "model" / "guitar.json");
  const auto at = json.find("\"sample_rate\": ");
  ASSERT_NE(at, std::string::npos) << json;
  json.replace(at, json.find_first_of(",\n}", at) - at, "\"sample_rate\": 1e12");
  std::ofstream(work_ / "model" / "guitar.json") << json;
  const ToolRun rate = run_tool(work_, "separate", args);
  expect_refused(rate, {"guitar.json", "sample_rate", "1e+12"});
  EXPECT_EQ(rate.output.find("-2147483648"), std::string::npos) << rate.output;
}

// ---------------------------------------------------------------- checked state

// Found by fuzz/fuzz_checkpoint: a state that is not UTF-8 ended in nlohmann's type_error 316.
TEST(ReliabilityFuzzFindings, NonUtf8MetadataIsAnErrorNotAJsonException) {
  const std::vector<float> v{1.f};
  EXPECT_THROW(st::serialize({st::make_f32("w", {1}, v)}, {{"unmix.train_state", "{\"target\": \"\xD0\"}"}}), Error);
  EXPECT_THROW(st::serialize({st::make_f32("\xFF", {1}, v)}), Error);
}

TEST_F(Reliability, FlippedBitsInModelsAndCheckpointsAreRefusedByName) {
  fs::copy(*dir_ / "model", work_ / "model");
  const fs::path weights = work_ / "model" / "guitar.safetensors";
  auto flip_last_data_byte = [](const fs::path& file) {
    std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(-3, std::ios::end);
    char c = 0;
    io.read(&c, 1);
    c ^= 0x10;
    io.seekp(-3, std::ios::end);
    io.write(&c, 1);
  };
  flip_last_data_byte(weights);
  expect_refused(run_tool(work_, "separate", "--device cpu --model " + quoted(work_ / "model") + " --outdir " +
                                            quoted(work_ / "sep") + " " + quoted(song())),
                 {"guitar.safetensors", "checksum mismatch"});
  // files without a checksum (older versions, converted models) still load
  EXPECT_NO_THROW(load_model(test::fixture("umx_tiny"), "vocals"));

  const fs::path out = work_ / "run";
  const ToolRun trained = run_tool(work_, "train", train_args(out, {{"--epochs", "1"}}));
  ASSERT_EQ(trained.code, 0) << trained.output;
  const fs::path checkpoint = train::checkpoint_path(out);
  fs::copy_file(checkpoint, work_ / "good.safetensors");
  flip_last_data_byte(checkpoint);
  expect_refused(run_tool(work_, "train", "--resume " + quoted(out) + " --epochs 2"),
                 {"checkpoint.safetensors", "checksum mismatch", "--resume cannot continue"});

  // consistent checksum, damaged content: NaN moments, an impossible learning rate
  st::File f = st::read(work_ / "good.safetensors");
  for (auto& t : f.tensors)
    if (t.name == "adam.exp_avg_sq") {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(t.data.data(), &nan, sizeof nan);
    }
  const std::string state = f.metadata.at("unmix.train_state");
  f.metadata[std::string(st::kChecksumKey)] = st::checksum(f.tensors, state);
  st::write(checkpoint, f.tensors, f.metadata);
  expect_refused(run_tool(work_, "train", "--resume " + quoted(out) + " --epochs 2"),
                 {"checkpoint.safetensors", "adam.exp_avg_sq", "non-finite"});

  f = st::read(work_ / "good.safetensors");
  nlohmann::json j = nlohmann::json::parse(state);
  j["lr"] = -j["lr"].get<double>();  // the run's learning rate (not the settings' initial one)
  const std::string bad_state = j.dump();
  f.metadata["unmix.train_state"] = bad_state;
  f.metadata[std::string(st::kChecksumKey)] = st::checksum(f.tensors, bad_state);
  st::write(checkpoint, f.tensors, f.metadata);
  expect_refused(run_tool(work_, "train", "--resume " + quoted(out) + " --epochs 2"),
                 {"checkpoint.safetensors", "learning rate"});
}

TEST_F(Reliability, ExistingCacheWithOtherSettingsIsNotRebuilt) {
  fs::copy(*dir_ / "cache", work_ / "cache", fs::copy_options::recursive);
  const fs::path index = work_ / "cache" / "index.json";
  const std::string before = read_text(index);
  const auto target_file = work_ / "cache" / "tracks" / "Song1.target.raw";
  const auto bytes = fs::file_size(target_file);
  const std::string args = "--root " + quoted(*dir_ / "corpus") + " --manifest " + quoted(*dir_ / "manifest.json") +
                           " --cache " + quoted(work_ / "cache") + " --output " + quoted(work_ / "run") +
                           " --device cpu --batch-size 2 --seq-dur 0.5 --samples-per-track 2 --hidden-size 8 "
                           "--workers 1 --epochs 1";
  expect_refused(run_tool(work_, "train", args + " --nfft 512 --nhop 128 --nb-channels 1"), {"cache", "2 channel(s)", "1"});
  expect_refused(run_tool(work_, "train", args + " --nfft 1024 --nhop 256"), {"cache", "nfft 512", "1024"});
  EXPECT_EQ(read_text(index), before);
  EXPECT_EQ(fs::file_size(target_file), bytes);
}

// ---------------------------------------------------------------- outputs committed whole

TEST_F(Reliability, ASongsOutputsAreCommittedAsASet) {
  const fs::path song_dir = work_ / "out" / "Song1_MIX";
  fs::create_directories(song_dir);
  std::ofstream(song_dir / "guitar.wav") << "old guitar";
  std::ofstream(song_dir / "residual.wav") << "old residual";
  // A leftover of a killed run (its process is gone: pid 999999999 cannot exist) is swept.
  std::ofstream(song_dir / ".guitar.wav.tmp.999999999.3") << "partial";
  // The residual cannot be written: the temporary names its writer will take next are folders.
  const fs::path probe = AtomicFile(song_dir / "residual.wav").temp_path();
  const std::string stem = probe.filename().string();
  const unsigned next = static_cast<unsigned>(std::stoul(stem.substr(stem.rfind('.') + 1))) + 1;
  std::vector<fs::path> blocked;
  for (unsigned n = next; n < next + 64; ++n) {
    blocked.push_back(song_dir / (".residual.wav.tmp." + std::to_string(::getpid()) + "." + std::to_string(n)));
    fs::create_directories(blocked.back() / "x");
  }
  SeparatorOptions so;
  so.device = Device::Cpu;
  Separator sep = Separator::load(*dir_ / "model", {}, so);
  OutputOptions out;
  out.outdir = work_ / "out";
  EXPECT_THROW(separate_file(sep, song(), out), Error);
  EXPECT_EQ(read_text(song_dir / "guitar.wav"), "old guitar");  // not a new guitar beside the old residual
  EXPECT_EQ(read_text(song_dir / "residual.wav"), "old residual");
  EXPECT_FALSE(fs::exists(song_dir / ".guitar.wav.tmp.999999999.3"));
  for (const auto& e : fs::directory_iterator(song_dir))  // the guitar's temporary file went with the failure
    EXPECT_EQ(e.path().filename().string().rfind(".guitar.wav.tmp.", 0), std::string::npos) << e.path();

  for (const auto& b : blocked) fs::remove_all(b);
  const FileResult r = separate_file(sep, song(), out);
  ASSERT_EQ(r.written.size(), 2u);
  for (const auto& p : r.written) EXPECT_EQ(read_audio(p).frames, read_audio(song()).frames) << p;
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(song_dir)) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 2u);  // no temporary file left
}

// ---------------------------------------------------------------- a cache cut short under a reader

TEST_F(Reliability, CacheFileTruncatedWhileMappedExitsWithItsName) {
  fs::copy(*dir_ / "cache", work_ / "cache", fs::copy_options::recursive);
  const fs::path cache_dir = work_ / "cache";
  EXPECT_EXIT(
      {
        const data::Cache cache = data::Cache::open(cache_dir);
        const auto& t = cache.tracks().front();
        fs::resize_file(cache_dir / t.target_file, 0);
        std::vector<float> out(static_cast<std::size_t>(2 * t.frames));
        cache.read(0, data::Source::Target, 0, t.frames, out.data(), t.frames);
        std::exit(0);
      },
      ::testing::ExitedWithCode(1), "target.raw: cache file became shorter while being read");
}

}  // namespace
