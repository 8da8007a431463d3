#include "unmix/eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "unmix/error.h"
#include "unmix/limits.h"

namespace unmix::eval {

namespace {

bool is_silent_audio(const Audio& a) { return is_silent(a.samples.data(), a.channels, a.frames, 0, a.frames); }

// The estimates of one folder method for one track, shaped like the references (museval.pad_or_truncate).
std::vector<Audio> load_estimates(const EstimateFolder& method, const EvalTrack& track, bool single_track,
                                  std::vector<std::string>& notes) {
  std::vector<Audio> estimates;
  const Audio& ref = track.sources.front();
  for (const std::string& source : track.source_names) {
    const auto file = find_estimate(method.dir, track.name, source, single_track);
    if (!file) fail(method.dir / track.name, "no estimate for '" + source + "'");
    Audio a = read_audio(*file);
    if (a.sample_rate != ref.sample_rate)
      fail(*file, std::to_string(a.sample_rate) + " Hz, the references are " + std::to_string(ref.sample_rate) + " Hz");
    if (a.channels != ref.channels)
      fail(*file, std::to_string(a.channels) + " channels, the references have " + std::to_string(ref.channels));
    if (a.frames != ref.frames) {
      notes.push_back(file->string() + ": " + std::to_string(a.frames) + " samples, " +
                      (a.frames < ref.frames ? "zero-padded" : "cut") + " to the references' " +
                      std::to_string(ref.frames));
      pad_or_truncate(a, ref.frames);
    }
    estimates.push_back(std::move(a));
  }
  return estimates;
}

}  // namespace

EvaluateReport evaluate_tracks(const TrackSet& tracks, const EvaluateOptions& options,
                               const std::function<void(const EvaluateProgress&)>& progress,
                               const std::atomic<bool>* stop) {
  if (options.methods.empty() && options.oracles.empty()) fail("evaluate", "nothing to evaluate: no estimates, no oracles");
  if (!(options.window_seconds > 0) || !(options.hop_seconds > 0)) fail("evaluate", "window and hop must be positive");
  if (std::isnan(options.silence_db) || options.silence_db == std::numeric_limits<double>::infinity())
    fail("evaluate", "the silence threshold must be a number of dB");
  // A hop of a few samples would mean millions of frames, each a least-squares solve: bounded like museval's use.
  check_range("--window", options.window_seconds, 0.01, 3600.0);
  check_range("--hop", options.hop_seconds, 0.01, 3600.0);
  check_range("--filters-len", std::int64_t{options.filters_len}, 1, 8192);
  std::vector<std::string> labels;
  for (const auto& m : options.methods) {
    if (m.label.empty() || m.label.find('/') != std::string::npos || m.label == "." || m.label == "..")
      fail("evaluate", "method label '" + m.label + "' cannot name a folder");
    labels.push_back(m.label);
  }
  for (const OracleMethod o : options.oracles) labels.emplace_back(oracle_name(o));
  std::sort(labels.begin(), labels.end());
  if (const auto dup = std::adjacent_find(labels.begin(), labels.end()); dup != labels.end())
    fail("evaluate", "two methods are labelled '" + *dup + "' (name them with --estimates LABEL=DIR)");

  std::vector<std::size_t> selected;
  for (std::size_t i = 0; i < tracks.size(); ++i)
    if (options.only_tracks.empty() ||
        std::find(options.only_tracks.begin(), options.only_tracks.end(), tracks.name(i)) != options.only_tracks.end())
      selected.push_back(i);
  for (const auto& wanted : options.only_tracks) {
    bool found = false;
    for (std::size_t i = 0; i < tracks.size(); ++i) found = found || tracks.name(i) == wanted;
    if (!found) fail("--tracks", "no track named '" + wanted + "'");
  }

  // Temporary files of a run killed while it wrote its museval JSON files (those of running ones stay).
  if (!options.json_dir.empty()) {
    remove_stale_temp_files(options.json_dir);
    for (const std::string& label : labels) remove_stale_temp_files(options.json_dir / label);
  }

  EvaluateReport report;
  report.tracks_total = selected.size();
  const auto start = std::chrono::steady_clock::now();
  auto stopped = [&] { return stop && stop->load(); };
  auto finished = [&](const std::string& name) {
    ++report.tracks_done;
    if (!progress) return;
    EvaluateProgress p;
    p.done = report.tracks_done;
    p.total = report.tracks_total;
    p.track = name;
    p.seconds_elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    p.seconds_left = p.seconds_elapsed / static_cast<double>(p.done) * static_cast<double>(p.total - p.done);
    progress(p);
  };

  for (std::size_t k = 0; k < selected.size() && !report.interrupted; ++k) {
    if (stopped()) {
      report.interrupted = true;
      break;
    }
    const std::string name = tracks.name(selected[k]);
    EvalTrack track;
    try {
      track = tracks.load(selected[k]);
    } catch (const std::exception& e) {  // unmix::Error, or a filesystem error naming the path
      report.skipped.push_back({name, "", e.what()});
      finished(name);
      continue;
    }
    report.notes.insert(report.notes.end(), track.notes.begin(), track.notes.end());
    std::string silent;
    for (std::size_t j = 0; j < track.sources.size() && silent.empty(); ++j)
      if (is_silent_audio(track.sources[j])) silent = track.source_names[j];
    if (!silent.empty()) {
      report.skipped.push_back({name, "", "reference '" + silent + "' is silent over the whole track"});
      finished(name);
      continue;
    }

    BssEvalOptions bss;
    const int rate = track.sources.front().sample_rate;
    // museval: int(win * rate)
    bss.window = std::max<std::int64_t>(1, static_cast<std::int64_t>(options.window_seconds * rate));
    bss.hop = std::max<std::int64_t>(1, static_cast<std::int64_t>(options.hop_seconds * rate));
    bss.filters_len = options.filters_len;
    bss.framewise_filters = options.framewise_filters;
    bss.compute_permutation = options.compute_permutation;
    bss.regularization = options.regularization;
    bss.silence_db = options.silence_db;
    bss.cancel = stop;

    auto evaluate = [&](const std::string& method, const std::vector<Audio>& estimates) {
      for (std::size_t j = 0; j < estimates.size(); ++j)
        if (is_silent_audio(estimates[j]))
          fail(method, "estimate '" + track.source_names[j] + "' is silent over the whole track");
      TrackScores scores;
      scores.method = method;
      scores.track = name;
      scores.targets = track.source_names;
      scores.sample_rate = rate;
      scores.window = bss.window;
      scores.hop = bss.hop;
      scores.result = bss_eval(track.sources, estimates, bss);
      if (!options.json_dir.empty()) write_museval_json(options.json_dir / method / (name + ".json"), scores);
      report.scores.push_back(std::move(scores));
    };
    auto attempt = [&](const std::string& method, const std::function<std::vector<Audio>()>& make) {
      if (report.interrupted) return;
      try {
        evaluate(method, make());
      } catch (const std::exception& e) {
        if (stopped()) {
          report.interrupted = true;
          return;
        }
        report.skipped.push_back({name, method, e.what()});
      }
    };
    for (const auto& m : options.methods)
      attempt(m.label, [&] { return load_estimates(m, track, tracks.single_track(), report.notes); });
    for (const OracleMethod o : options.oracles)
      attempt(std::string(oracle_name(o)), [&] { return oracle_estimates(o, track.sources, track.mixture); });
    if (report.interrupted) break;
    finished(name);
  }
  return report;
}

}  // namespace unmix::eval
