// demo: the whole job on data it makes itself. Synthesizes a small multitrack corpus with FluidSynth,
// trains a small Open-Unmix on the guitar (GPU when there is one, else CPU), separates the held-out test
// songs and prints their BSSEval v4 SDR table next to the oracle and mixture rows. See include/unmix/demo.h.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "unmix/demo.h"
#include "unmix/error.h"
#include "unmix/stop_signal.h"
#include "unmix/limits.h"

int main(int argc, char** argv) {
  unmix::exit_cleanly_on_terminate("demo");
  using namespace unmix::demo;
  CLI::App app{
      "guitar-unmix demo: synthesize songs (FluidSynth), train a small Open-Unmix on the guitar, separate the\n"
      "held-out songs and evaluate them (BSSEval v4) next to the oracle and mixture baselines. Everything is\n"
      "written under --out; a rerun with the same corpus settings reuses the corpus."};
  app.footer("Ctrl-C during training ends training early and the demo goes on with the best model so far; in any\n"
             "other stage it stops the demo. A second Ctrl-C ends the program at once.");
  DemoOptions o;
  app.add_option("--out", o.out, "output folder (created; a folder the demo did not make is refused)")->capture_default_str();
  app.add_option("--songs", o.songs, "songs to synthesize (split into train, valid and test by artist)")->capture_default_str();
  app.add_option("--seconds", o.seconds, "length of every song")->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the corpus, the split, the weights and the batches")->capture_default_str();
  app.add_option("--epochs", o.epochs, "training epochs")->capture_default_str();
  app.add_option("--hidden-size", o.hidden_size, "model width (openunmix's default is 512)")->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "excerpts per step")->capture_default_str();
  app.add_option("--seq-dur", o.seq_dur, "seconds per training excerpt")->capture_default_str();
  app.add_option("--samples-per-track", o.samples_per_track, "excerpts per training song and epoch")->capture_default_str();
  app.add_option("--lr", o.lr, "Adam learning rate")->capture_default_str();
  app.add_option("--device", o.device, "auto (GPU when usable), cpu or cuda: training and separation")->capture_default_str();
  app.add_option("-j,--jobs", o.jobs, "synthesis and data-loader threads (0: one per core)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    unmix::stop_on_signals();
    DemoHooks hooks;
    hooks.stop = &unmix::stop_flag();
    hooks.log = [](const std::string& line) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    };
    const DemoResult r = run_demo(o, hooks);
    if (!r.summary.empty()) {
      std::printf("\nHeld-out test songs (%zu), BSSEval v4 as museval computes it:\n%s", r.test_tracks.size(),
                  unmix::eval::summary_text(r.summary).c_str());
      std::printf("\n");
      for (const auto& line : sdr_comparison(r.summary)) std::printf("%s\n", line.c_str());
    }
    if (r.interrupted) {
      std::fprintf(stderr, "demo: interrupted; what is finished is in %s\n", o.out.c_str());
      return 130;
    }
    const std::string out = o.out.string();
    std::printf("\ntrained on %s (%lld epochs%s) in %.0f s in all. Listen: %s/separated/<song>/{guitar,residual}.wav "
                "against %s/references/<song>/; model: %s/model/ (build/tools/separate --model %s/model song.wav)\n",
                r.device.c_str(), static_cast<long long>(r.epochs_trained),
                r.training_interrupted ? ", stopped early" : "", r.seconds, out.c_str(), out.c_str(), out.c_str(),
                out.c_str());
    return 0;
  } catch (...) {  // unmix::Error ("<file>: <problem>"), a filesystem error, out of memory
    return unmix::report_exception("demo");
  }
}
