// oracle: separations computed from the true stems (IRM1, IRM2, IBM, MWF) and the mixture baseline, written
// as audio in tools/separate's layout so they can be listened to and evaluated like any model's output.
//   oracle --references refs/ --out oracle/ --target guitar
//   oracle --root corpus/ --manifest data_manifests/any_guitar.json --out oracle/
// See docs/evaluation.md (evaluate --oracle scores them without writing files).
#include <CLI/CLI.hpp>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "unmix/stop_signal.h"
#include "unmix/error.h"
#include "unmix/eval/oracle.h"
#include "unmix/eval/track_set.h"
#include "unmix/limits.h"

using namespace unmix;
using namespace unmix::eval;

namespace {

std::atomic<bool>& g_stop = unmix::stop_flag();

}  // namespace

int main(int argc, char** argv) {
  unmix::exit_cleanly_on_terminate("error");
  CLI::App app{
      "oracle: the best a mask could do, from the true stems. Writes <out>/<METHOD>/<track>/<source>.<ext> for\n"
      "IRM1 and IRM2 (ideal ratio masks on magnitudes / powers), IBM (ideal binary mask), MWF (multichannel\n"
      "Wiener filter) and Mixture (the mix as every source), following sigsep-mus-oracle."};
  app.footer(
      "True sources: --references DIR (DIR/<source>.wav for one track, or DIR/<track>/<source>.wav; a mixture.wav\n"
      "there is what gets separated, else the sum of the sources) or --root + --manifest (per track of --split:\n"
      "<target> = the target stems, residual = every other stem, the mix file as mixture).\n"
      "--target NAME with --references writes NAME and residual (the sum of the other sources' estimates) only.\n"
      "Ctrl-C stops after the current track; files are never left half-written.\n"
      "Exit status: 0 done, 1 bad input (every failing track is reported), 130 interrupted.");
  std::string references, root, manifest, split_text = "test", target, out, format = "float";
  std::vector<std::string> method_names = {"IRM1", "IRM2", "IBM", "MWF", "Mixture"}, only_tracks;
  int threads = 0;
  bool quiet = false;
  auto* refs_opt = app.add_option("--references", references, "folder of true sources (see below)");
  auto* root_opt = app.add_option("--root", root, "dataset root (MedleyDB layout) the manifest's paths are relative to");
  auto* manifest_opt = app.add_option("--manifest", manifest, "dataset manifest (data_manifests/*.json)");
  root_opt->needs(manifest_opt)->excludes(refs_opt);
  manifest_opt->needs(root_opt);
  app.add_option("--split", split_text, "manifest split: train, valid, test or all")->capture_default_str();
  app.add_option("--target", target, "target source name (with --manifest default: guitar)");
  app.add_option("--out", out, "output folder")->required();
  app.add_option("--methods", method_names, "comma-separated subset of IRM1,IRM2,IBM,MWF,Mixture")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--format", format, "sample format: float (32-bit, never clips), pcm16 or pcm24")->capture_default_str();
  app.add_option("--tracks", only_tracks, "only these tracks (comma-separated names)")->delimiter(',');
  app.add_option("--threads", threads, "worker threads (0: all cores)")->capture_default_str();
  app.add_flag("--quiet", quiet, "no progress lines");
  CLI11_PARSE(app, argc, argv);

  try {
    if (references.empty() && root.empty()) fail("oracle", "give --references DIR or --root DIR --manifest FILE");
    check_threads("--threads", threads);
    if (threads > 0) omp_set_num_threads(threads);
    SampleFormat sample_format;
    if (format == "float") sample_format = SampleFormat::Float32;
    else if (format == "pcm16") sample_format = SampleFormat::Pcm16;
    else if (format == "pcm24") sample_format = SampleFormat::Pcm24;
    else fail("--format", "must be float, pcm16 or pcm24, not '" + format + "'");
    std::vector<OracleMethod> methods;
    for (const auto& n : method_names) {
      OracleMethod m;
      if (!parse_oracle(n, m)) fail("--methods", "unknown method '" + n + "'");
      methods.push_back(m);
    }
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
      if (target.empty()) target = "guitar";
      tracks = manifest_tracks(root, manifest, split, target);
    }

    unmix::stop_on_signals();
    const auto start = std::chrono::steady_clock::now();
    std::size_t done = 0, failed = 0, total = 0;
    for (std::size_t i = 0; i < tracks->size(); ++i)
      total += only_tracks.empty() || std::find(only_tracks.begin(), only_tracks.end(), tracks->name(i)) != only_tracks.end();
    for (std::size_t i = 0; i < tracks->size() && !g_stop; ++i) {
      const std::string name = tracks->name(i);
      if (!only_tracks.empty() && std::find(only_tracks.begin(), only_tracks.end(), name) == only_tracks.end()) continue;
      try {
        const EvalTrack track = tracks->load(i);
        for (const auto& n : track.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
        // With a target among several sources: the target and the sum of the rest (sigsep's accompaniment).
        int target_index = -1;
        if (!target.empty() && !root.empty()) target_index = 0;
        if (!target.empty() && root.empty()) {
          for (std::size_t j = 0; j < track.source_names.size(); ++j)
            if (track.source_names[j] == target) target_index = static_cast<int>(j);
          if (target_index < 0) fail(name, "no source named '" + target + "'");
        }
        for (const OracleMethod m : methods) {
          if (g_stop) break;
          const std::vector<Audio> estimates = oracle_estimates(m, track.sources, track.mixture);
          const auto dir = std::filesystem::path(out) / std::string(oracle_name(m)) / name;
          std::filesystem::create_directories(dir);
          remove_stale_temp_files(dir);  // of a run killed while it wrote here
          const std::string ext = ".wav";
          if (target_index < 0) {
            for (std::size_t j = 0; j < estimates.size(); ++j)
              write_audio(dir / (track.source_names[j] + ext), estimates[j], sample_format);
            continue;
          }
          Audio residual = estimates[target_index];
          std::fill(residual.samples.begin(), residual.samples.end(), 0.f);
          for (std::size_t j = 0; j < estimates.size(); ++j)
            if (static_cast<int>(j) != target_index)
              for (std::size_t k = 0; k < residual.samples.size(); ++k) residual.samples[k] += estimates[j].samples[k];
          write_audio(dir / (target + ext), estimates[target_index], sample_format);
          write_audio(dir / ("residual" + ext), residual, sample_format);
        }
        ++done;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        ++failed;
      }
      if (!quiet) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const std::size_t finished = done + failed;
        std::fprintf(stderr, "[%zu/%zu] %s  elapsed %.0f s  ETA %.0f s\n", finished, total, name.c_str(), elapsed,
                     elapsed / static_cast<double>(finished) * static_cast<double>(total - finished));
      }
    }
    if (g_stop) {
      std::fprintf(stderr, "interrupted after %zu of %zu tracks\n", done, total);
      return 130;
    }
    std::printf("%s: oracle estimates for %zu tracks (%zu failed)\n", out.c_str(), done, failed);
    return failed ? 1 : 0;
  } catch (...) {  // unmix::Error ("<file>: <problem>"), a filesystem error, out of memory
    return unmix::report_exception("error");
  }
}
