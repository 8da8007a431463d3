#pragma once
// Evaluation results on disk and in tables.
//
// Per track, museval's JSON (museval.aggregate.TrackStore.json, the schema of museval's musdb.schema.json):
//   {"targets": [{"name": ..., "frames": [{"time": s, "duration": s,
//                                           "metrics": {"SDR": .., "SIR": .., "SAR": .., "ISR": ..}}]}],
//    "evaluator": ...}
// Values are rounded to 5 decimals; NaN (silent frames) and infinities are written as NaN, as museval does
// (NaN is not strict JSON; museval and Python's json module read it).
// Summary as museval's EvalStore: per track and target the median over frames, then the median over tracks,
// NaN values left out at both steps; likewise with means.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "unmix/eval/bss_eval.h"

namespace unmix::eval {

struct TrackScores {
  std::string method;                // e.g. "UMX", "IRM1", "Mixture"
  std::string track;
  std::vector<std::string> targets;  // source names in evaluation order
  BssEvalResult result;
  int sample_rate = 44100;           // frame times are in seconds
  std::int64_t window = 44100, hop = 44100;
};

std::string museval_json(const TrackScores& scores);
void write_museval_json(const std::filesystem::path& file, const TrackScores& scores);  // atomic

inline constexpr const char* kMetrics[4] = {"SDR", "SIR", "ISR", "SAR"};

// Frame values of one target and metric as museval aggregates them: +-inf become NaN.
std::vector<double> frame_values(const TrackScores& scores, int target, int metric);  // metric: index into kMetrics

double nan_median(std::vector<double> values);  // NaN when no value is finite
double nan_mean(const std::vector<double>& values);

struct SummaryRow {
  std::string method, target;
  double median[4];  // per metric (kMetrics order): median over frames, then median over tracks
  double mean[4];    // mean over frames, then mean over tracks
  std::size_t tracks = 0;
};

// One row per (method, target), in order of first appearance.
std::vector<SummaryRow> summarize(const std::vector<TrackScores>& all);

std::string summary_text(const std::vector<SummaryRow>& rows);  // aligned table, medians and means
std::string summary_csv(const std::vector<SummaryRow>& rows);   // method,target,metric,median,mean,tracks
std::string summary_json(const std::vector<SummaryRow>& rows);  // strict JSON, null for NaN
// Per track: method,track,target,SDR,SIR,ISR,SAR (medians over frames), frames, nan_frames.
std::string tracks_csv(const std::vector<TrackScores>& all);

// Writes `text` to `file` through a temporary file.
void write_text_file(const std::filesystem::path& file, const std::string& text);

// summary.csv, summary.json (of `rows`) and tracks.csv (of `all`) in `dir`, each through a temporary file.
void write_summary_files(const std::filesystem::path& dir, const std::vector<SummaryRow>& rows,
                         const std::vector<TrackScores>& all);

}  // namespace unmix::eval
