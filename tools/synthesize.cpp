// synthesize: a synthetic multitrack corpus in MedleyDB's layout, rendered with FluidSynth from
// procedurally composed songs. See docs/synthetic-corpus.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <string>

#include "unmix/clock_text.h"
#include "unmix/stop_signal.h"
#include "unmix/error.h"
#include "unmix/synth/corpus.h"
#include "unmix/synth/soundfonts.h"
#include "unmix/limits.h"

namespace {

std::atomic<bool>& g_stop = unmix::stop_flag();

// One line, rewritten in place on a terminal; otherwise a new line every 10 seconds.
class ProgressLine {
 public:
  ProgressLine() : tty_(::isatty(STDERR_FILENO) != 0) {}
  void operator()(const unmix::synth::CorpusProgress& p) {
    const bool finished = p.stems_done == p.stems_total;
    if (!tty_ && !finished && p.seconds_elapsed - last_ < 10.0) return;
    last_ = p.seconds_elapsed;
    const int width = 24;
    const auto filled = static_cast<int>(p.fraction() * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(width - filled), '.');
    std::fprintf(stderr, "%s[%s] %d/%d songs, %lld/%lld stems, %s elapsed, ETA %s%s", tty_ ? "\r" : "", bar.c_str(),
                 p.songs_done + p.songs_skipped, p.songs_total, static_cast<long long>(p.stems_done),
                 static_cast<long long>(p.stems_total), unmix::clock_text(p.seconds_elapsed).c_str(), unmix::clock_text(p.seconds_left).c_str(),
                 tty_ ? "   " : "\n");
    std::fflush(stderr);
    dirty_ = tty_;
  }
  void end() {
    if (dirty_) std::fputc('\n', stderr);
    dirty_ = false;
  }

 private:
  bool tty_;
  bool dirty_ = false;
  double last_ = -1e9;
};

}  // namespace

int main(int argc, char** argv) {
  unmix::exit_cleanly_on_terminate("synthesize");
  using namespace unmix::synth;
  CLI::App app{"Render procedurally composed songs with FluidSynth into a MedleyDB-layout multitrack corpus:\n"
               "<out>/<Track>/<Track>_MIX.wav, <Track>_STEMS/<Track>_STEM_NN.wav (float32) and <Track>_METADATA.yaml."};
  CorpusOptions options;
  std::vector<std::string> guitars;
  bool list_fonts = false;
  app.add_option("-o,--out", options.out, "output folder (created if missing)");
  app.add_option("-n,--songs", options.songs, "number of songs")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--seconds", options.seconds, "length of each song in seconds")->capture_default_str();
  app.add_option("--seed", options.seed, "corpus seed: the same seed and options give byte-identical files")
      ->capture_default_str();
  app.add_option("--first-song", options.first_song, "index of the first song (to extend a corpus)")->capture_default_str();
  app.add_option("--soundfont", options.soundfonts,
                 "soundfont to draw instruments from (repeatable); default: every known GM font installed");
  app.add_option("--guitar", guitars, "guitar kinds to use: acoustic, clean, distorted (repeatable or comma-separated); "
                                      "default: all")
      ->delimiter(',');
  app.add_option("-j,--jobs", options.jobs, "worker threads (0: one per core)")->capture_default_str();
  app.add_flag("--resume", options.resume, "keep songs whose folders already exist and render the rest");
  bool no_mastering = false, no_plugins = false;
  app.add_flag("--no-plugins", no_plugins,
               "no LV2 processing: guitars as FluidSynth renders them (the GM distortion presets), no amps, cabinets, "
               "effects or per-stem EQ and compression");
  app.add_flag("--raw", options.raw, "also write each stem's dry render (before any plugin) to <Track>_RAW/");
  app.add_flag("--no-mastering", no_mastering,
               "leave the mix unmastered: no bus compressor and limiter, peaks scaled to a drawn level as before");
  app.add_flag("--list-soundfonts", list_fonts, "print the GM soundfonts found on this machine and exit");
  CLI11_PARSE(app, argc, argv);

  ProgressLine line;
  try {
    if (list_fonts) {
      for (const auto& path : installed_gm_soundfonts()) std::printf("%s\n", path.c_str());
      return 0;
    }
    if (options.out.empty()) unmix::fail("--out", "missing: name the output folder");
    options.mastering = !no_mastering;
    options.plugins = !no_plugins;
    for (const std::string& g : guitars) {
      const auto kind = parse_guitar_kind(g);
      if (!kind) unmix::fail("--guitar", "unknown guitar kind '" + g + "' (use acoustic, clean or distorted)");
      options.guitar_kinds.push_back(*kind);
    }
    unmix::stop_on_signals();
    const CorpusResult result = synthesize_corpus(options, &g_stop, [&](const CorpusProgress& p) { line(p); });
    line.end();
    std::string fonts;
    for (const std::string& f : result.soundfonts) fonts += (fonts.empty() ? "" : ", ") + f;
    const double speed = result.seconds_elapsed > 0 ? result.audio_seconds / result.seconds_elapsed : 0.0;
    std::fprintf(stderr, "synthesize: wrote %zu song%s (%.0f s of audio) to %s in %s, %.1fx real time; fonts: %s%s\n",
                 result.tracks_written.size(), result.tracks_written.size() == 1 ? "" : "s", result.audio_seconds,
                 options.out.c_str(),
                 unmix::clock_text(result.seconds_elapsed).c_str(), speed, fonts.c_str(),
                 result.songs_skipped ? (", kept " + std::to_string(result.songs_skipped) + " existing").c_str() : "");
    if (result.interrupted) {
      std::fprintf(stderr, "synthesize: interrupted; unfinished songs were removed (rerun with --resume to continue)\n");
      return 130;
    }
    return 0;
  } catch (...) {  // unmix::Error ("<file>: <problem>"), a filesystem error, out of memory
    line.end();
    return unmix::report_exception("synthesize");
  }
}
