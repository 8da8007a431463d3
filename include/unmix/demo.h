#pragma once
// The whole job on data it makes itself, behind tools/demo: a synthetic MedleyDB-layout corpus rendered
// with FluidSynth, an artist-disjoint guitar manifest, a small Open-Unmix trained briefly on the guitar
// (on the GPU when there is one), the held-out test songs separated, and BSSEval v4 of that separation
// printed next to the oracle (IRM1, IRM2, IBM, MWF) and mixture rows. Each stage is the library call
// behind one of the tools, so the demo is the documented command-line pipeline in one process.
//
// Everything lands under `out`:
//   corpus/ corpus.json   the synthetic songs and the settings they were made with (reused when equal)
//   guitar.json           the manifest (train / valid / test, artist-disjoint)
//   cache/                the training cache with the input statistics
//   model/                the training run: guitar.{json,safetensors} (the best model), checkpoint,
//                         history.jsonl, loss.svg, train.log
//   separated/<track>/    guitar.wav, residual.wav of every test song
//   references/<track>/   mixture.wav, guitar.wav, residual.wav: the true sources, for listening and for
//                         `evaluate --references`
//   eval/                 museval JSON per method and track, summary.{csv,json}, tracks.csv
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "unmix/eval/scores.h"

namespace unmix::demo {

struct DemoOptions {
  std::filesystem::path out = "demo-out";
  // corpus
  int songs = 40;
  double seconds = 20;
  std::uint64_t seed = 7;
  // training (openunmix's loop with a small model and short epochs)
  int epochs = 20;
  int hidden_size = 64;
  int batch_size = 8;
  double seq_dur = 2.0;
  int samples_per_track = 8;
  double lr = 1e-3;
  std::string device = "auto";  // auto | cpu | cuda: training and separation
  int jobs = 0;                 // synthesis and loader threads; 0: one per core
};

// Throws unmix::Error naming the option for settings the demo cannot run with.
void validate(const DemoOptions& options);

struct DemoResult {
  std::string device;                     // where the model trained
  std::int64_t epochs_trained = 0;
  bool training_interrupted = false;      // stopped early; the best model so far was used
  bool interrupted = false;               // stopped during synthesis, separation or evaluation
  std::vector<std::string> test_tracks;
  std::vector<eval::SummaryRow> summary;  // "UMX" first, then the oracles, "Mixture" last
  double seconds = 0;                     // wall time of the whole run
};

struct DemoHooks {
  std::function<void(const std::string& line)> log;  // progress and results, one line at a time
  // Polled throughout. Raised during training it ends training only (the demo goes on with the best model
  // so far and lowers the flag); raised in any other stage it ends the demo with result.interrupted.
  std::atomic<bool>* stop = nullptr;
};

// The summary label of the trained model's rows.
inline constexpr const char* kModelLabel = "UMX";

// Refuses an existing, non-empty `out` that a demo run did not create (the demo replaces its own outputs
// there). Throws unmix::Error naming the file and the problem for unusable input or failed stages.
DemoResult run_demo(const DemoOptions& options, const DemoHooks& hooks = {});

// One line per target comparing the model with the mixture and the best oracle by median SDR, e.g.
// "guitar: UMX 4.12 dB SDR, 7.21 dB over the mixture, 3.10 dB below the best oracle (MWF 7.22 dB)".
std::vector<std::string> sdr_comparison(const std::vector<eval::SummaryRow>& summary);

}  // namespace unmix::demo
