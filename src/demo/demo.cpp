#include "unmix/demo.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "unmix/audio.h"
#include "unmix/clock_text.h"
#include "unmix/data/manifest.h"
#include "unmix/error.h"
#include "unmix/limits.h"
#include "unmix/eval/evaluate.h"
#include "unmix/eval/track_set.h"
#include "unmix/gpu/device.h"
#include "unmix/separator.h"
#include "unmix/synth/corpus.h"
#include "unmix/synth/instruments.h"
#include "unmix/train/trainer.h"

namespace unmix::demo {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kMarker = ".guitar-unmix-demo";  // says the folder is the demo's to replace
constexpr const char* kTarget = "guitar";

std::string format(const char* pattern, auto... values) {
  std::string text(static_cast<std::size_t>(std::snprintf(nullptr, 0, pattern, values...)), '\0');
  std::snprintf(text.data(), text.size() + 1, pattern, values...);
  return text;
}

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool stop_requested(const DemoHooks& hooks) { return hooks.stop && hooks.stop->load(); }

// The output folder is the demo's when it is new, empty or carries the marker; anything else is refused so a
// mistyped --out never replaces someone's files.
void claim_output(const fs::path& out) {
  if (fs::exists(out)) {
    if (!fs::is_directory(out)) fail(out, "exists and is not a folder; choose another --out");
    if (!fs::is_empty(out) && !fs::exists(out / kMarker))
      fail(out, "exists and was not made by the demo; choose another --out (the demo replaces its own outputs)");
  }
  fs::create_directories(out);
  std::ofstream(out / kMarker) << "made by guitar-unmix's demo; its subfolders are replaced by the next demo run\n";
}

std::string corpus_stamp(const DemoOptions& o) {
  return nlohmann::json{{"songs", o.songs}, {"seconds", o.seconds}, {"seed", o.seed}}.dump();
}

// [1/5] The corpus. Songs depend only on the settings, so a folder made with the same ones (the stamp) keeps
// its finished songs, even after an interrupted run, and only missing ones are rendered.
void make_corpus(const DemoOptions& o, const DemoHooks& hooks, const std::function<void(const std::string&)>& log,
                 DemoResult& result) {
  const fs::path corpus = o.out / "corpus", stamp = o.out / "corpus.json";
  std::string previous;
  if (std::ifstream in{stamp}) std::getline(in, previous);
  const bool same = previous == corpus_stamp(o) && fs::is_directory(corpus);
  if (!same) {
    fs::remove(stamp);
    fs::remove_all(corpus);
    fs::remove_all(o.out / "cache");  // made from the songs being replaced
    std::ofstream(stamp) << corpus_stamp(o) << "\n";
  }
  log(format("[1/5] corpus: %s %d songs of %.0f s (seed %llu)%s in %s", same ? "reusing" : "synthesizing", o.songs,
             o.seconds, static_cast<unsigned long long>(o.seed), same ? "" : " with FluidSynth", corpus.c_str()));
  synth::CorpusOptions co;
  co.out = corpus;
  co.songs = o.songs;
  co.seconds = o.seconds;
  co.seed = o.seed;
  co.jobs = o.jobs;
  co.resume = true;
  double last = -1e9;
  bool reported_all = false;
  const auto r = synth::synthesize_corpus(co, hooks.stop, [&](const synth::CorpusProgress& p) {
    const bool all = p.songs_done + p.songs_skipped == p.songs_total;
    if (all ? reported_all || p.songs_skipped == p.songs_total : p.seconds_elapsed - last < 5.0) return;
    last = p.seconds_elapsed;
    reported_all = all;
    log(format("  %d/%d songs, %lld/%lld stems, %s elapsed, ETA %s", p.songs_done + p.songs_skipped, p.songs_total,
               static_cast<long long>(p.stems_done), static_cast<long long>(p.stems_total),
               clock_text(p.seconds_elapsed).c_str(), clock_text(p.seconds_left).c_str()));
  });
  if (r.interrupted) {
    result.interrupted = true;
    return;
  }
  if (!r.tracks_written.empty())
    log(format("  rendered %zu songs, %.0f s of audio in %s (%.1fx real time)%s", r.tracks_written.size(),
               r.audio_seconds, clock_text(r.seconds_elapsed).c_str(),
               r.seconds_elapsed > 0 ? r.audio_seconds / r.seconds_elapsed : 0.0,
               r.songs_skipped ? format(", kept %d", r.songs_skipped).c_str() : ""));
}

// [2/5] Every guitar kind is the target, everything else the residual. The split is artist-disjoint, so on a
// small corpus some split seeds leave the valid or test split empty; the first seed (from the corpus seed
// on) that fills all three is taken, which keeps the choice deterministic.
data::Manifest make_manifest(const DemoOptions& o, const std::function<void(const std::string&)>& log) {
  data::ManifestOptions mo;
  mo.name = kTarget;
  for (synth::GuitarKind kind : synth::kAllGuitarKinds) mo.target_labels.emplace_back(synth::guitar_kind_label(kind));
  mo.source = "guitar-unmix demo corpus (seed " + std::to_string(o.seed) + ")";
  const auto metadata = data::scan_root(o.out / "corpus");
  for (int attempt = 0; attempt < 256; ++attempt) {
    mo.split.seed = o.seed + static_cast<std::uint64_t>(attempt);
    data::Manifest m = data::build_manifest(metadata, mo);
    if (m.count(data::Split::Train) > 0 && m.count(data::Split::Valid) > 0 && m.count(data::Split::Test) > 0) {
      data::save_manifest(m, o.out / "guitar.json");
      std::string test;
      for (const auto* t : m.tracks_in(data::Split::Test)) test += (test.empty() ? "" : ", ") + t->id;
      log(format("[2/5] manifest %s: %zu train, %zu valid, %zu test songs, artist-disjoint (test: %s)",
                 (o.out / "guitar.json").c_str(), m.count(data::Split::Train), m.count(data::Split::Valid),
                 m.count(data::Split::Test), test.c_str()));
      return m;
    }
  }
  fail(o.out / "corpus", "its " + std::to_string(metadata.size()) +
                             " songs do not split into train, valid and test by artist; synthesize more (--songs)");
}

// The training run the demo asks for: openunmix's loop with the demo's corpus, cache and model folders.
train::RunRequest training_request(const DemoOptions& o) {
  train::RunRequest request;
  train::TrainConfig& c = request.config;
  c.root = (o.out / "corpus").string();
  c.manifest = (o.out / "guitar.json").string();
  c.cache = (o.out / "cache").string();
  c.target = kTarget;
  c.output = (o.out / "model").string();
  c.epochs = o.epochs;
  c.batch_size = o.batch_size;
  c.seq_dur = o.seq_dur;
  c.samples_per_track = o.samples_per_track;
  c.lr = o.lr;
  c.hidden_size = o.hidden_size;
  c.seed = o.seed;
  c.device = o.device;
  c.nb_workers = o.jobs > 0 ? o.jobs : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  c.progress_seconds = 15;
  return request;
}

// [3/5] openunmix's training loop; the cache is built from the corpus on the way in.
fs::path train_model(const DemoOptions& o, const DemoHooks& hooks, const std::function<void(const std::string&)>& log,
                     DemoResult& result) {
  const fs::path run = o.out / "model";
  fs::remove_all(run);  // a fresh run refuses a folder that holds a checkpoint
  const train::RunRequest request = training_request(o);
  log(format("[3/5] training a %d-wide Open-Unmix on the guitar for %d epochs (%s); Ctrl-C stops training early "
             "and the demo goes on with the best model so far",
             o.hidden_size, o.epochs, o.device.c_str()));
  train::TrainerHooks th;
  th.stop = hooks.stop;
  th.log = [&](const std::string& line) { log("  " + line); };
  const train::TrainResult r = train::run_training(request, th);
  log("  " + r.message);
  result.device = r.device;
  result.epochs_trained = r.epochs;
  if (r.outcome == train::Outcome::Diverged) fail(run, r.message);
  if (r.outcome == train::Outcome::Interrupted) {
    result.training_interrupted = true;
    if (hooks.stop) hooks.stop->store(false);  // only training was asked to stop
  }
  if (r.best_epoch == 0)
    fail(run, "training stopped before its first epoch ended, so there is no model to separate with");
  log(format("  best validation loss %.5g at epoch %lld of %lld, model in %s", r.best_loss,
             static_cast<long long>(r.best_epoch), static_cast<long long>(r.epochs), run.c_str()));
  return run;
}

// [4/5] The test songs through openunmix's Separator (Wiener EM, residual), written in tools/separate's
// layout, with the true sources beside them for listening.
void separate_tests(const DemoOptions& o, const fs::path& model, const eval::TrackSet& tracks, const DemoHooks& hooks,
                    const std::function<void(const std::string&)>& log, DemoResult& result) {
  SeparatorOptions so;
  so.device = parse_device(o.device);
  Separator separator = Separator::load(model, {kTarget}, so);
  const fs::path separated = o.out / "separated", references = o.out / "references";
  fs::remove_all(separated);
  fs::remove_all(references);
  log(format("[4/5] separating %zu test song%s: %s", tracks.size(), tracks.size() == 1 ? "" : "s",
             separator.describe().c_str()));
  for (std::size_t i = 0; i < tracks.size(); ++i) {
    const auto start = Clock::now();
    const eval::EvalTrack track = tracks.load(i);
    std::vector<Audio> sources;
    try {
      sources = separator.separate(track.mixture, [&](double) { return !stop_requested(hooks); });
    } catch (const Cancelled&) {
      result.interrupted = true;
      return;
    }
    fs::create_directories(separated / track.name);
    fs::create_directories(references / track.name);
    const auto& names = separator.source_names();  // guitar, residual
    for (std::size_t s = 0; s < names.size(); ++s)
      write_audio(separated / track.name / (names[s] + ".wav"), sources[s], SampleFormat::Float32);
    write_audio(references / track.name / "mixture.wav", track.mixture, SampleFormat::Float32);
    for (std::size_t s = 0; s < track.sources.size(); ++s)
      write_audio(references / track.name / (track.source_names[s] + ".wav"), track.sources[s], SampleFormat::Float32);
    log(format("  %s: %.0f s of audio in %.1f s -> %s/", track.name.c_str(),
               static_cast<double>(track.mixture.frames) / track.mixture.sample_rate, since(start),
               (separated / track.name).c_str()));
  }
}

// [5/5] BSSEval v4 (museval's defaults) of the model and of every oracle on the test songs.
void evaluate_tests(const DemoOptions& o, const eval::TrackSet& tracks, const DemoHooks& hooks,
                    const std::function<void(const std::string&)>& log, DemoResult& result) {
  const fs::path dir = o.out / "eval";
  fs::remove_all(dir);
  eval::EvaluateOptions eo;
  eo.methods.push_back({kModelLabel, o.out / "separated"});
  eo.oracles = eval::all_oracles();
  eo.json_dir = dir;
  log(format("[5/5] BSSEval v4 of %s and the oracles on the test songs", kModelLabel));
  const auto progress = [&](const eval::EvaluateProgress& p) {
    if (p.done > 0) log(format("  %zu/%zu %s  elapsed %s  ETA %s", p.done, p.total, p.track.c_str(),
                               clock_text(p.seconds_elapsed).c_str(), clock_text(p.seconds_left).c_str()));
  };
  const auto report = eval::evaluate_tracks(tracks, eo, progress, hooks.stop);
  for (const auto& s : report.skipped)
    log("  skipped " + s.track + (s.method.empty() ? "" : " (" + s.method + ")") + ": " + s.reason);
  result.summary = eval::summarize(report.scores);
  if (report.interrupted) {
    result.interrupted = true;
    return;
  }
  if (report.scores.empty()) fail(dir, "nothing could be evaluated (see the skipped lines above)");
  eval::write_summary_files(dir, result.summary, report.scores);
}

}  // namespace

void validate(const DemoOptions& o) {
  if (o.out.empty()) fail("--out", "must name a folder");
  if (o.songs < 3) fail("--songs", "needs at least 3 songs (train, valid and test)");
  if (!(o.seconds >= 4 && o.seconds <= 600)) fail("--seconds", "must be between 4 and 600");
  check_range("--songs", std::int64_t{o.songs}, 3, 100000);
  check_threads("--jobs", o.jobs);
  train::validate(training_request(o).config);  // the training settings, checked before minutes of synthesis
  if (o.seq_dur > o.seconds) fail("--seq-dur", "must be at most --seconds");
}

DemoResult run_demo(const DemoOptions& options, const DemoHooks& hooks) {
  validate(options);
  if (parse_device(options.device) == Device::Cuda) gpu::require_devices();  // before minutes of CPU work
  const auto start = Clock::now();
  const auto log = [&](const std::string& line) {
    if (hooks.log) hooks.log(line);
  };
  DemoResult result;
  claim_output(options.out);

  make_corpus(options, hooks, log, result);
  if (result.interrupted) return result;
  const data::Manifest manifest = make_manifest(options, log);
  const fs::path model = train_model(options, hooks, log, result);
  const auto tests = eval::manifest_tracks(options.out / "corpus", options.out / "guitar.json", data::Split::Test, kTarget);
  for (const auto* t : manifest.tracks_in(data::Split::Test)) result.test_tracks.push_back(t->id);
  separate_tests(options, model, *tests, hooks, log, result);
  if (!result.interrupted) evaluate_tests(options, *tests, hooks, log, result);
  result.seconds = since(start);
  return result;
}

std::vector<std::string> sdr_comparison(const std::vector<eval::SummaryRow>& summary) {
  std::vector<std::string> lines;
  for (const auto& model : summary) {
    if (model.method != kModelLabel) continue;
    const eval::SummaryRow* mixture = nullptr;
    const eval::SummaryRow* best = nullptr;
    for (const auto& r : summary) {
      if (r.target != model.target || r.method == kModelLabel) continue;
      if (r.method == "Mixture") mixture = &r;
      else if (std::isfinite(r.median[0]) && (!best || r.median[0] > best->median[0])) best = &r;
    }
    std::string line = format("%s: %s %.2f dB SDR", model.target.c_str(), kModelLabel, model.median[0]);
    if (mixture && std::isfinite(mixture->median[0])) {
      const double gain = model.median[0] - mixture->median[0];
      line += gain >= 0 ? format(", %.2f dB over the mixture", gain) : format(", %.2f dB below the mixture", -gain);
    }
    if (best) {
      const double gap = best->median[0] - model.median[0];
      line += gap >= 0 ? format(", %.2f dB below the best oracle (%s %.2f dB)", gap, best->method.c_str(), best->median[0])
                       : format(", %.2f dB above the best oracle (%s %.2f dB)", -gap, best->method.c_str(), best->median[0]);
    }
    lines.push_back(line);
  }
  return lines;
}

}  // namespace unmix::demo
