// evaluate: BSSEval v4 (museval-compatible) of separation results against the true sources.
//   evaluate --references refs/ --estimates UMX=separated/ --oracle all --out eval/
//   evaluate --root corpus/ --manifest data_manifests/any_guitar.json --estimates separated/ --out eval/
// See docs/evaluation.md.
#include <CLI/CLI.hpp>
#include <omp.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <limits>

#include "unmix/clock_text.h"
#include "unmix/stop_signal.h"
#include "unmix/error.h"
#include "unmix/eval/evaluate.h"
#include "unmix/limits.h"

using namespace unmix;
using namespace unmix::eval;

namespace {

std::atomic<bool>& g_stop = unmix::stop_flag();

// "LABEL=DIR" or "DIR" (the label is then the folder's name).
EstimateFolder parse_estimates(const std::string& arg) {
  EstimateFolder m;
  const auto eq = arg.find('=');
  if (eq != std::string::npos && eq > 0) {
    m.label = arg.substr(0, eq);
    m.dir = arg.substr(eq + 1);
  } else {
    m.dir = arg;
    m.label = std::filesystem::absolute(m.dir).lexically_normal().filename().string();
    if (m.label.empty()) m.label = std::filesystem::absolute(m.dir).lexically_normal().parent_path().filename().string();
  }
  if (!std::filesystem::is_directory(m.dir)) fail(m.dir, "estimates folder does not exist");
  return m;
}

std::vector<OracleMethod> parse_oracles(const std::vector<std::string>& names) {
  std::vector<OracleMethod> out;
  for (const auto& n : names) {
    if (n == "all") return all_oracles();
    OracleMethod m;
    if (!parse_oracle(n, m)) fail("--oracle", "unknown oracle '" + n + "' (IRM1, IRM2, IBM, MWF, Mixture or all)");
    out.push_back(m);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  unmix::exit_cleanly_on_terminate("error");
  CLI::App app{
      "evaluate: BSSEval v4 SDR/SIR/ISR/SAR per 1 s frame, as museval computes them (images mode, 512-tap\n"
      "distortion filters estimated once per track), of separated sources against the true ones; the summary\n"
      "is the median over frames, then over tracks (SiSEC 2018), and the mean likewise."};
  app.footer(
      "True sources: --references DIR (DIR/<source>.wav for one track, or DIR/<track>/<source>.wav; a\n"
      "mixture.wav there is the mixture for the oracles) or --root + --manifest (per track of --split: <target>\n"
      "= the target stems, residual = all other stems, the mix file as mixture).\n"
      "Estimates: --estimates [LABEL=]DIR with DIR/<track>/<source>.wav (tools/separate's layout; residual and\n"
      "accompaniment stand in for each other), repeatable; --oracle adds oracle rows computed from the true\n"
      "sources (IRM1, IRM2, IBM, MWF, Mixture = the mix as every estimate).\n"
      "Output (--out): <out>/<method>/<track>.json in museval's format, summary.csv, summary.json, tracks.csv.\n"
      "Tracks that cannot be evaluated (a silent reference, a missing or silent estimate, ...) are reported and\n"
      "skipped. Ctrl-C stops after the current evaluation and prints what was done.\n"
      "Exit status: 0 done (skips included), 1 bad input or nothing evaluated, 130 interrupted.");
  std::string references, root, manifest, split_text = "test", target = "guitar", out;
  std::vector<std::string> estimates, oracles, only_tracks;
  EvaluateOptions options;
  int threads = 0;
  bool quiet = false;
  auto* refs_opt = app.add_option("--references", references, "folder of true sources (see below)");
  auto* root_opt = app.add_option("--root", root, "dataset root (MedleyDB layout) the manifest's paths are relative to");
  auto* manifest_opt = app.add_option("--manifest", manifest, "dataset manifest (data_manifests/*.json)");
  root_opt->needs(manifest_opt)->excludes(refs_opt);
  manifest_opt->needs(root_opt);
  app.add_option("--split", split_text, "manifest split to evaluate: train, valid, test or all")->capture_default_str();
  app.add_option("--target", target, "with --manifest: the name of the target source (the estimate file's name)")
      ->capture_default_str();
  app.add_option("--estimates", estimates, "[LABEL=]DIR of a method's estimates; repeatable");
  app.add_option("--oracle", oracles, "oracle rows: IRM1,IRM2,IBM,MWF,Mixture or all")->delimiter(',');
  app.add_option("--out", out, "folder for the museval JSON files and the summary tables");
  app.add_option("--window", options.window_seconds, "frame length in seconds")->capture_default_str();
  app.add_option("--hop", options.hop_seconds, "frame hop in seconds")->capture_default_str();
  app.add_option("--filters-len", options.filters_len, "distortion filter taps")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("--v3", options.framewise_filters, "BSSEval v3: distortion filters estimated anew in every frame (slow)");
  app.add_flag("--permutation", options.compute_permutation, "match estimates to sources by the best mean SIR");
  app.add_option("--regularization", options.regularization,
                 "load on the filters' normal equations relative to each reference channel's energy; 0 is "
                 "museval's solve exactly (see docs/evaluation.md)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--silence-db", options.silence_db,
                 "also count a frame as silent (NaN) where a reference's mean power is below this dBFS, e.g. -60 "
                 "for parts that rest with reverb tails; default: museval's exact zeros only (see docs/evaluation.md)");
  app.add_option("--tracks", only_tracks, "evaluate only these tracks (comma-separated names)")->delimiter(',');
  app.add_option("--threads", threads, "worker threads (0: all cores)")->capture_default_str();
  app.add_flag("--quiet", quiet, "no progress lines");
  CLI11_PARSE(app, argc, argv);

  try {
    if (references.empty() && root.empty()) fail("evaluate", "give --references DIR or --root DIR --manifest FILE");
    check_threads("--threads", threads);
    if (threads > 0) omp_set_num_threads(threads);
    for (const auto& e : estimates) options.methods.push_back(parse_estimates(e));
    options.oracles = parse_oracles(oracles);
    options.only_tracks = only_tracks;
    if (!out.empty()) options.json_dir = out;

    std::unique_ptr<TrackSet> tracks;
    if (!references.empty()) {
      tracks = folder_tracks(references);
    } else {
      std::optional<data::Split> split;
      if (split_text != "all") {
        data::Split parsed;
        if (!data::parse_split(split_text, parsed))
          fail("--split", "must be train, valid, test or all, not '" + split_text + "'");
        split = parsed;
      }
      tracks = manifest_tracks(root, manifest, split, target);
    }

    unmix::stop_on_signals();
    auto progress = [&](const EvaluateProgress& p) {
      if (quiet) return;
      std::fprintf(stderr, "[%zu/%zu] %s  elapsed %s  ETA %s\n", p.done, p.total, p.track.c_str(),
                   clock_text(p.seconds_elapsed).c_str(), clock_text(p.seconds_left).c_str());
    };
    const EvaluateReport report = evaluate_tracks(*tracks, options, progress, &g_stop);

    for (const auto& n : report.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
    for (const auto& s : report.skipped)
      std::printf("skipped %s%s: %s\n", s.track.c_str(), s.method.empty() ? "" : (" (" + s.method + ")").c_str(),
                  s.reason.c_str());
    const auto rows = summarize(report.scores);
    if (options.silence_db > -std::numeric_limits<double>::infinity())
      std::printf("Frames where a reference is below %g dBFS count as silent (NaN)\n", options.silence_db);
    std::printf("%s", summary_text(rows).c_str());
    if (report.interrupted) {
      std::fprintf(stderr, "interrupted after %zu of %zu tracks; the summary above covers those only and was not saved\n",
                   report.tracks_done, report.tracks_total);
      return 130;
    }
    if (report.scores.empty()) fail("evaluate", "nothing could be evaluated (see the skipped lines above)");
    if (!out.empty()) {
      write_summary_files(out, rows, report.scores);
      std::printf("wrote %s/{summary.csv,summary.json,tracks.csv} and %zu museval JSON files\n", out.c_str(),
                  report.scores.size());
    }
  } catch (...) {  // unmix::Error ("<file>: <problem>"), a filesystem error, out of memory
    return unmix::report_exception("error");
  }
  return 0;
}
