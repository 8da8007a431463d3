// preprocess: validate a MedleyDB-layout root against a manifest and write the training cache.
//   preprocess --manifest data_manifests/acoustic_guitar.json --root /data/medleydb --out cache/acoustic_guitar
//   preprocess --manifest m.json --root corpus --validate-only      # only list missing/odd files
// Interrupt with Ctrl-C: finished tracks stay in the cache and a rerun continues from there.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "unmix/clock_text.h"
#include "unmix/stop_signal.h"
#include "unmix/data/preprocess.h"
#include "unmix/error.h"
#include "unmix/limits.h"

using namespace unmix;
using namespace unmix::data;

namespace {

std::atomic<bool>& g_stop = unmix::stop_flag();

}  // namespace

int main(int argc, char** argv) {
  unmix::exit_cleanly_on_terminate("error");
  CLI::App app{"Validate a MedleyDB-layout root against a manifest and write the training cache"};
  std::string manifest_file, root, out, dtype = "float32";
  PreprocessOptions options;
  bool validate_only = false, no_stats = false, exclude_bleed = false, quiet = false;
  app.add_option("--manifest", manifest_file, "manifest JSON (make_manifests)")->required();
  app.add_option("--root", root, "MedleyDB-layout audio root the manifest's paths are relative to")->required();
  app.add_option("--out", out, "cache directory to write");
  app.add_option("--sample-rate", options.read.sample_rate, "cache sample rate (files at other rates are resampled)")
      ->capture_default_str();
  app.add_option("--channels", options.read.channels, "cache channels, 1 or 2 (mono stems are duplicated)")->capture_default_str();
  app.add_option("--dtype", dtype, "float32 (exact) or int16 (half the size, per-file scale)")->capture_default_str();
  app.add_option("--nfft", options.n_fft, "training STFT size, for the statistics")->capture_default_str();
  app.add_option("--nhop", options.n_hop, "training STFT hop, for the statistics")->capture_default_str();
  app.add_option("--threads", options.threads, "worker threads (0: all cores)")->capture_default_str();
  app.add_flag("--strict", options.read.strict, "a missing or unreadable file is an error, not a report");
  app.add_flag("--validate-only", validate_only, "check files (headers only) and print what is missing or odd");
  app.add_flag("--no-stats", no_stats, "skip the input statistics");
  app.add_flag("--exclude-bleed", exclude_bleed, "leave tracks flagged with bleed out of the cache");
  app.add_flag("--quiet", quiet, "no progress lines");
  CLI11_PARSE(app, argc, argv);

  try {
    if (!parse_sample_type(dtype, options.sample_type)) fail("--dtype", "must be float32 or int16, not '" + dtype + "'");
    options.statistics = !no_stats;
    options.include_bleed = !exclude_bleed;
    const Manifest manifest = load_manifest(manifest_file);

    if (validate_only) {
      const auto issues = validate_root(manifest, root, options.read);
      std::size_t fatal = 0;
      for (const auto& i : issues) {
        std::printf("%s %s\n", i.fatal() ? "error:" : "note: ", i.to_string().c_str());
        fatal += i.fatal() ? 1 : 0;
      }
      std::printf("%zu tracks checked: %zu missing or unreadable, %zu odd (resampled, converted, padded or trimmed)\n",
                  manifest.tracks.size(), fatal, issues.size() - fatal);
      return fatal > 0 && options.read.strict ? 1 : 0;
    }
    if (out.empty()) fail("preprocess", "--out is required unless --validate-only");

    unmix::stop_on_signals();
    const bool tty = ::isatty(STDERR_FILENO);
    auto last = std::chrono::steady_clock::now() - std::chrono::hours(1);
    std::string last_stage;
    auto progress = [&](const PreprocessProgress& p) {
      const auto now = std::chrono::steady_clock::now();
      const bool finished = p.done == p.total;
      if (quiet || (now - last < std::chrono::seconds(tty ? 1 : 10) && !finished && p.stage == last_stage)) return;
      last = now;
      last_stage = p.stage;
      std::fprintf(stderr, "%s%-10s %zu/%zu  elapsed %s  ETA %s%s", tty ? "\r" : "", p.stage.c_str(), p.done, p.total,
                   clock_text(p.seconds_elapsed).c_str(), clock_text(p.seconds_left).c_str(), tty && !finished ? "   " : "\n");
    };
    const PreprocessReport report = preprocess(manifest, root, out, options, progress, &g_stop);
    for (const auto& i : report.issues) std::printf("%s %s\n", i.fatal() ? "error:" : "note: ", i.to_string().c_str());
    if (report.interrupted) {
      std::fprintf(stderr, "interrupted: %zu tracks are cached; rerun the same command to continue\n",
                   report.written + report.reused);
      return 130;
    }
    std::printf("%s: %zu tracks cached (%zu written, %zu reused), %zu skipped, %.1f min of audio\n", out.c_str(),
                report.written + report.reused, report.written, report.reused, report.skipped, report.audio_seconds / 60.0);
  } catch (...) {  // unmix::Error ("<file>: <problem>"), a filesystem error, out of memory
    return unmix::report_exception("error");
  }
  return 0;
}
