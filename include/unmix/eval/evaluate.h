#pragma once
// The evaluation run behind tools/evaluate and tools/oracle: every track of a TrackSet against the
// estimates of each method (folders of files, or oracles computed on the spot), BSSEval per track, results
// collected for museval JSON files and the summary. A track that cannot be evaluated is reported and
// skipped (its reason kept), never fatal: a silent reference (the whole track; museval refuses those),
// a missing or unreadable estimate, a silent estimate, mismatched rates or channel counts.
#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "unmix/eval/oracle.h"
#include "unmix/eval/scores.h"
#include "unmix/eval/track_set.h"

namespace unmix::eval {

struct EstimateFolder {
  std::string label;           // the method's name in tables and file names
  std::filesystem::path dir;   // <dir>/<track>/<source>.wav (see track_set.h)
};

struct EvaluateOptions {
  double window_seconds = 1.0, hop_seconds = 1.0;  // museval.evaluate's defaults
  int filters_len = 512;
  bool framewise_filters = false;    // BSSEval v3
  bool compute_permutation = false;
  double regularization = BssEvalOptions{}.regularization;  // 0: museval's solve exactly
  double silence_db = BssEvalOptions{}.silence_db;          // -inf: museval's exact-zero silence only
  std::vector<EstimateFolder> methods;
  std::vector<OracleMethod> oracles;
  std::filesystem::path json_dir;          // when set: <json_dir>/<method>/<track>.json per evaluation
  std::vector<std::string> only_tracks;    // when set: just these track names
};

struct SkippedEvaluation {
  std::string track, method;  // method empty: the whole track
  std::string reason;
};

struct EvaluateReport {
  std::vector<TrackScores> scores;
  std::vector<SkippedEvaluation> skipped;
  std::vector<std::string> notes;  // non-fatal oddities (resampled, padded estimates, ...)
  std::size_t tracks_total = 0, tracks_done = 0;
  bool interrupted = false;
};

struct EvaluateProgress {
  std::size_t done = 0, total = 0;
  std::string track;
  double seconds_elapsed = 0, seconds_left = -1;
};

// Throws unmix::Error only for unusable options (no methods, bad window); problems with single tracks or
// files end up in report.skipped. `stop` is polled between and inside evaluations.
EvaluateReport evaluate_tracks(const TrackSet& tracks, const EvaluateOptions& options,
                               const std::function<void(const EvaluateProgress&)>& progress = {},
                               const std::atomic<bool>* stop = nullptr);

}  // namespace unmix::eval
