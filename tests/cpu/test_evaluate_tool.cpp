// The evaluation run (folders of references and estimates, oracles, skips), museval JSON, summaries, and the
// evaluate / oracle command lines end to end.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "test_support.h"
#include "unmix/audio.h"
#include "unmix/data/manifest.h"
#include "unmix/error.h"
#include "unmix/eval/evaluate.h"

using namespace unmix;
using namespace unmix::eval;
namespace fs = std::filesystem;

namespace {

constexpr int kRate = 44100;

Audio noise(std::int64_t frames, std::uint64_t seed, float gain) {
  Audio a;
  a.sample_rate = kRate;
  a.channels = 2;
  a.frames = frames;
  a.samples = unmix::test::random_vector<float>(2 * static_cast<std::size_t>(frames), seed, -gain, gain);
  return a;
}

Audio mixed(const Audio& a, float wa, const Audio& b, float wb) {
  Audio out = a;
  for (std::size_t i = 0; i < out.samples.size(); ++i) out.samples[i] = wa * a.samples[i] + wb * b.samples[i];
  return out;
}

void write_wav(const fs::path& p, const Audio& a) {
  fs::create_directories(p.parent_path());
  write_audio(p, a, SampleFormat::Float32);
}

std::string read_file(const fs::path& p) {
  std::ifstream is(p);
  std::stringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

// museval writes NaN as a bare token; read it as null.
nlohmann::json read_museval_json(const fs::path& p) {
  return nlohmann::json::parse(std::regex_replace(read_file(p), std::regex("\\bNaN\\b"), "null"));
}

// refs/<track>/{guitar,residual}.wav and est/<track>/{guitar,accompaniment}.wav for two tracks (accompaniment
// stands in for residual), plus a track whose guitar is silent and one without estimates.
struct Corpus {
  fs::path root, refs, est;
  Audio g0, r0, eg0, er0;
};

Corpus make_corpus(const std::string& tag) {
  Corpus c;
  c.root = unmix::test::temp_dir(tag);
  c.refs = c.root / "refs";
  c.est = c.root / "est";
  const std::int64_t frames = 3 * kRate + 1000;
  for (int t = 0; t < 2; ++t) {
    const std::string track = "song" + std::to_string(t);
    const Audio g = noise(frames, 10 + t, 0.3f), r = noise(frames, 20 + t, 0.2f);
    // song1's accompaniment estimate is 100 samples short: zero-padded as museval does.
    const Audio eg = mixed(g, 1.f, r, 0.2f), er = mixed(r, 1.f, g, 0.1f);
    write_wav(c.refs / track / "guitar.wav", g);
    write_wav(c.refs / track / "residual.wav", r);
    Audio shorter = er;
    shorter.frames -= 100;
    shorter.samples.clear();
    for (int ch = 0; ch < 2; ++ch) shorter.samples.insert(shorter.samples.end(), er.channel(ch), er.channel(ch) + shorter.frames);
    write_wav(c.est / track / "guitar.wav", eg);
    write_wav(c.est / track / "accompaniment.wav", t == 0 ? er : shorter);
    if (t == 0) {
      c.g0 = g;
      c.r0 = r;
      c.eg0 = eg;
      c.er0 = er;
    }
  }
  Audio silent = noise(frames, 30, 0.f);
  write_wav(c.refs / "quiet" / "guitar.wav", silent);
  write_wav(c.refs / "quiet" / "residual.wav", noise(frames, 31, 0.2f));
  write_wav(c.refs / "unseparated" / "guitar.wav", noise(frames, 32, 0.2f));
  write_wav(c.refs / "unseparated" / "residual.wav", noise(frames, 33, 0.2f));
  return c;
}

EvaluateOptions fast_options() {
  EvaluateOptions o;
  o.filters_len = 64;  // the museval default 512 is covered by the parity suite
  return o;
}

TEST(EvaluateTracks, FoldersJsonAndSkips) {
  const Corpus c = make_corpus("evaluate");
  const auto tracks = folder_tracks(c.refs);
  ASSERT_EQ(tracks->size(), 4u);
  EvaluateOptions o = fast_options();
  o.methods.push_back({"Model", c.est});
  o.oracles = {OracleMethod::IRM1, OracleMethod::Mixture};
  o.json_dir = c.root / "out";
  const EvaluateReport report = evaluate_tracks(*tracks, o);

  // quiet: silent reference; unseparated: no estimates for Model (the oracles still run).
  ASSERT_EQ(report.scores.size(), 2u * 3u + 2u);
  bool quiet_skipped = false, unseparated_skipped = false;
  for (const auto& s : report.skipped) {
    quiet_skipped |= s.track == "quiet" && s.method.empty() && s.reason.find("silent") != std::string::npos;
    unseparated_skipped |= s.track == "unseparated" && s.method == "Model" && s.reason.find("no estimate") != std::string::npos;
  }
  EXPECT_TRUE(quiet_skipped);
  EXPECT_TRUE(unseparated_skipped);
  EXPECT_EQ(report.tracks_done, 4u);
  bool padded_note = false;
  for (const auto& n : report.notes) padded_note |= n.find("zero-padded") != std::string::npos;
  EXPECT_TRUE(padded_note);

  // The JSON holds what bss_eval computes for the same signals, in museval's layout.
  BssEvalOptions bss;
  bss.filters_len = 64;
  const BssEvalResult direct = bss_eval({c.g0, c.r0}, {c.eg0, c.er0}, bss);
  const auto json = read_museval_json(c.root / "out" / "Model" / "song0.json");
  ASSERT_EQ(json["targets"].size(), 2u);
  EXPECT_EQ(json["targets"][0]["name"], "guitar");
  EXPECT_EQ(json["targets"][1]["name"], "residual");
  const auto& frames = json["targets"][0]["frames"];
  ASSERT_EQ(frames.size(), 3u);
  for (int t = 0; t < 3; ++t) {
    EXPECT_DOUBLE_EQ(frames[t]["time"].get<double>(), t * 1.0);
    EXPECT_DOUBLE_EQ(frames[t]["duration"].get<double>(), 1.0);
    EXPECT_NEAR(frames[t]["metrics"]["SDR"].get<double>(), direct.at(direct.sdr, 0, t), 6e-6);
    EXPECT_NEAR(frames[t]["metrics"]["SIR"].get<double>(), direct.at(direct.sir, 0, t), 6e-6);
    EXPECT_NEAR(frames[t]["metrics"]["ISR"].get<double>(), direct.at(direct.isr, 0, t), 6e-6);
    EXPECT_NEAR(frames[t]["metrics"]["SAR"].get<double>(), direct.at(direct.sar, 0, t), 6e-6);
  }
  EXPECT_TRUE(fs::exists(c.root / "out" / "IRM1" / "unseparated.json"));
  EXPECT_FALSE(fs::exists(c.root / "out" / "Model" / "quiet.json"));

  // Mixture as the estimate of the guitar: SDR near the guitar-to-residual ratio (0.3 vs 0.2 amplitude).
  const auto rows = summarize(report.scores);
  for (const auto& r : rows) {
    if (r.method == "Mixture" && r.target == "guitar") {
      EXPECT_NEAR(r.median[0], 20 * std::log10(0.3 / 0.2), 0.5);
    }
  }
  fs::remove_all(c.root);
}

TEST(EvaluateTracks, DatasetRootAndManifest) {
  // A MedleyDB-layout root with one test track: a guitar stem, a bass stem and the mix.
  const fs::path root = unmix::test::temp_dir("evaluate-manifest");
  const std::int64_t frames = 2 * kRate + 500;
  const Audio guitar = noise(frames, 41, 0.3f), bass = noise(frames, 42, 0.2f);
  write_wav(root / "T1" / "T1_STEMS" / "T1_STEM_01.wav", guitar);
  write_wav(root / "T1" / "T1_STEMS" / "T1_STEM_02.wav", bass);
  write_wav(root / "T1" / "T1_MIX.wav", mixed(guitar, 1.f, bass, 1.f));
  data::Manifest m;
  m.name = "guitar_test";
  m.target_labels = {"clean electric guitar"};
  data::ManifestTrack t;
  t.id = t.artist = t.group = "T1";
  t.split = data::Split::Test;
  t.mix = "T1/T1_MIX.wav";
  t.targets.push_back({"S01", "T1/T1_STEMS/T1_STEM_01.wav", {"clean electric guitar"}});
  t.interferers.push_back({"S02", "T1/T1_STEMS/T1_STEM_02.wav", {"electric bass"}});
  m.tracks.push_back(t);
  data::save_manifest(m, root / "manifest.json");
  // tools/separate's layout: <out>/<track>/guitar.wav and residual.wav
  write_wav(root / "sep" / "T1" / "guitar.wav", mixed(guitar, 1.f, bass, 0.1f));
  write_wav(root / "sep" / "T1" / "residual.wav", mixed(bass, 1.f, guitar, 0.1f));

  const auto tracks = manifest_tracks(root, root / "manifest.json", data::Split::Test, "guitar");
  ASSERT_EQ(tracks->size(), 1u);
  EXPECT_EQ(tracks->name(0), "T1");
  EvaluateOptions o = fast_options();
  o.methods.push_back({"Model", root / "sep"});
  o.oracles = {OracleMethod::IBM};
  const EvaluateReport report = evaluate_tracks(*tracks, o);
  ASSERT_EQ(report.scores.size(), 2u) << (report.skipped.empty() ? "" : report.skipped[0].reason);
  EXPECT_EQ(report.scores[0].targets, (std::vector<std::string>{"guitar", "residual"}));
  // 10 % leakage each way: SIR about 20 dB plus the level difference of the sources.
  const auto rows = summarize(report.scores);
  EXPECT_NEAR(rows[0].median[1], 20 + 20 * std::log10(0.3 / 0.2), 1.0);
  EXPECT_THROW(manifest_tracks(root, root / "manifest.json", data::Split::Valid, "guitar"), Error);  // empty split
  fs::remove_all(root);
}

TEST(EvaluateTracks, InterruptedRunStopsEarly) {
  const Corpus c = make_corpus("evaluate-stop");
  const auto tracks = folder_tracks(c.refs);
  EvaluateOptions o = fast_options();
  o.methods.push_back({"Model", c.est});
  std::atomic<bool> stop{true};
  const EvaluateReport report = evaluate_tracks(*tracks, o, {}, &stop);
  EXPECT_TRUE(report.interrupted);
  EXPECT_TRUE(report.scores.empty());
  fs::remove_all(c.root);
}

TEST(EvaluateTracks, RejectsUnusableOptions) {
  const Corpus c = make_corpus("evaluate-bad");
  const auto tracks = folder_tracks(c.refs);
  EXPECT_THROW(evaluate_tracks(*tracks, fast_options()), Error);  // nothing to evaluate
  EvaluateOptions o = fast_options();
  o.oracles = {OracleMethod::Mixture};
  o.only_tracks = {"no-such-track"};
  EXPECT_THROW(evaluate_tracks(*tracks, o), Error);
  EXPECT_THROW(folder_tracks(c.root / "missing"), Error);
  EvaluateOptions twice = fast_options();
  twice.methods = {{"IRM1", c.est}};
  twice.oracles = {OracleMethod::IRM1};
  EXPECT_THROW(evaluate_tracks(*tracks, twice), Error);  // the JSON files would overwrite each other
  EvaluateOptions no_threshold = o;
  no_threshold.only_tracks.clear();
  no_threshold.silence_db = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(evaluate_tracks(*tracks, no_threshold), Error);
  fs::remove_all(c.root);
}

TEST(Summary, MedianOverFramesThenTracksSkipsNaN) {
  auto track = [](const std::string& name, std::vector<double> sdr) {
    TrackScores s;
    s.method = "M";
    s.track = name;
    s.targets = {"guitar"};
    s.result.sources = 1;
    s.result.frames = static_cast<int>(sdr.size());
    s.result.sdr = sdr;
    s.result.isr = s.result.sir = s.result.sar = std::vector<double>(sdr.size(), 1.0);
    return s;
  };
  const double inf = INFINITY;
  // frame medians: 2 (NaN and inf left out), 10, NaN (all silent); means: 2, 10 -> track median 6, mean 6
  const std::vector<TrackScores> all = {track("a", {1, 2, 3, NAN, inf}), track("b", {10}), track("c", {NAN, NAN})};
  const auto rows = summarize(all);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].median[0], 6.0);
  EXPECT_DOUBLE_EQ(rows[0].mean[0], 6.0);
  EXPECT_EQ(rows[0].tracks, 3u);
  EXPECT_NE(summary_text(rows).find("guitar"), std::string::npos);
  EXPECT_NE(summary_csv(rows).find("M,guitar,SDR,6.00000,6.00000,3"), std::string::npos);
  EXPECT_NO_THROW(nlohmann::json::parse(summary_json(rows)));
  EXPECT_NE(museval_json(all[0]).find("\"SDR\": NaN"), std::string::npos);  // inf is written as NaN, as museval
}

// ---- the command lines

fs::path tool(const std::string& name) {
  // tests live in <build>/tests, tools in <build>/tools
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / name;
}

struct RunResult {
  int status = -1;
  std::string out;
};

RunResult run(const std::string& command) {
  RunResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) r.out += buf;
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(EvaluateTool, EndToEndWithOracleTool) {
  const fs::path evaluate = tool("evaluate"), oracle = tool("oracle");
  if (!fs::exists(evaluate) || !fs::exists(oracle)) GTEST_SKIP() << "tools not built next to the tests: " << evaluate;
  const Corpus c = make_corpus("evaluate-tool");
  const fs::path out = c.root / "eval", orc = c.root / "oracle";

  const auto o = run(oracle.string() + " --references " + c.refs.string() + " --out " + orc.string() +
                     " --methods IRM2,Mixture --tracks song0,song1 --quiet");
  ASSERT_EQ(o.status, 0) << o.out;
  EXPECT_TRUE(fs::exists(orc / "IRM2" / "song0" / "guitar.wav"));
  EXPECT_TRUE(fs::exists(orc / "Mixture" / "song1" / "residual.wav"));

  const auto e = run(evaluate.string() + " --references " + c.refs.string() + " --estimates Model=" + c.est.string() +
                     " --estimates " + (orc / "IRM2").string() + " --oracle Mixture --filters-len 64 --quiet --out " +
                     out.string());
  ASSERT_EQ(e.status, 0) << e.out;
  EXPECT_NE(e.out.find("skipped quiet: reference 'guitar' is silent"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("Median over frames, median over tracks"), std::string::npos);
  for (const char* f : {"summary.csv", "summary.json", "tracks.csv", "Model/song1.json", "IRM2/song0.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  const auto summary = nlohmann::json::parse(read_file(out / "summary.json"));
  ASSERT_TRUE(summary["rows"].is_array());
  bool irm2_better = false;
  double mixture_sdr = 0, irm2_sdr = 0;
  for (const auto& row : summary["rows"]) {
    if (row["target"] != "guitar") continue;
    if (row["method"] == "Mixture") mixture_sdr = row["median"]["SDR"].get<double>();
    if (row["method"] == "IRM2") irm2_sdr = row["median"]["SDR"].get<double>();
  }
  irm2_better = irm2_sdr > mixture_sdr + 3;
  EXPECT_TRUE(irm2_better) << "IRM2 " << irm2_sdr << " dB vs mixture " << mixture_sdr << " dB";

  const auto bad = run(evaluate.string() + " --references " + (c.root / "nope").string() + " --oracle Mixture");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("error: "), std::string::npos);
  EXPECT_EQ(std::count(bad.out.begin(), bad.out.end(), '\n'), 1) << bad.out;
  fs::remove_all(c.root);
}

}  // namespace
