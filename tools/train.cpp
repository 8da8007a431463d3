// train: openunmix's train.py as a native command, for GPU servers and (small models) the CPU.
//   train --cache cache/guitar --output runs/guitar                      # defaults are openunmix's
//   train --root corpus --manifest m.json --cache cache/guitar --output runs/guitar --device cuda
//   train --config settings.json --lr 3e-4 --output runs/g2             # flags win over the file
//   train --resume runs/guitar [--epochs 2000]                          # continue exactly
//   mpirun -np 4 train --cache cache/guitar --output runs/guitar         # data-parallel: 4 ranks share each batch
// Ctrl-C / SIGTERM: the current step finishes, a checkpoint is written, exit 0. Documentation: docs/training.md.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "unmix/stop_signal.h"
#include "unmix/error.h"
#include "unmix/parallel/communicator.h"
#include "unmix/train/config.h"
#include "unmix/train/trainer.h"
#include "unmix/limits.h"

using namespace unmix;
using namespace unmix::train;

namespace {

std::atomic<bool>& g_stop = unmix::stop_flag();

}  // namespace

int main(int argc, char** argv) {
  unmix::exit_cleanly_on_terminate("train");
  CLI::App app{"Train an Open-Unmix separation model on a training cache, as openunmix's train.py does (defaults are\n"
               "openunmix's). Writes to --output: the best model <target>.{safetensors,json} + separator.json, an\n"
               "exact-resume checkpoint.safetensors, history.jsonl, loss.svg and train.log, every epoch."};
  app.footer("Ctrl-C or SIGTERM finishes the current step, writes a checkpoint and exits 0; --resume DIR continues "
             "it exactly.\nA non-finite loss stops the run (exit 1) and leaves the last good checkpoint in place.");
  TrainConfig flags;
  std::vector<std::pair<CLI::Option*, const ConfigField*>> bound;
  for (const ConfigField& field : config_fields())
    std::visit(
        [&](auto member) {
          using T = std::remove_reference_t<decltype(flags.*member)>;
          CLI::Option* option = nullptr;
          if constexpr (std::is_same_v<T, bool>) option = app.add_flag(field.flag, flags.*member, field.help);
          else option = app.add_option(field.flag, flags.*member, field.help)->capture_default_str();
          bound.emplace_back(option, &field);
        },
        field.member);
  std::string config_file, resume;
  app.add_option("--config", config_file,
                 "JSON object of settings, keyed by openunmix's argument names (\"lr\", \"batch_size\", ...); "
                 "flags given on the command line win");
  app.add_option("--resume", resume,
                 "continue the run in this output directory where its checkpoint left off (its settings are kept; "
                 "--epochs, --workers, --device, --tf32, --progress-seconds and data paths may change)");
  double collective_timeout = 600;
  app.add_option("--collective-timeout", collective_timeout,
                 "under mpirun: seconds a rank waits for the others in a collective before it ends the job with an "
                 "error (a rank died or hangs)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<parallel::Communicator> ranks;
  try {
    ranks = parallel::make_communicator(collective_timeout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train: %s\n", e.what());
    return 1;
  }
  const bool root = ranks->is_root();
  try {
    RunRequest request;
    if (!config_file.empty()) request.given = merge_config_file(request.config, config_file);
    for (const auto& [option, field] : bound)
      if (option->count() > 0) {
        copy_field(request.config, flags, *field);
        request.given.emplace_back(field->key);
      }
    request.resume = resume;

    unmix::stop_on_signals();
    TrainerHooks hooks;
    hooks.stop = &g_stop;
    hooks.communicator = ranks.get();
    hooks.log = [](const std::string& line) {
      std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    };
    const TrainResult result = run_training(request, hooks);
    if (root) std::fprintf(stderr, "train: %s\n", result.message.c_str());
    if (result.outcome == Outcome::Diverged) return 1;
    if (root && result.best_epoch > 0)
      std::printf("%s: best validation loss %.6g at epoch %lld of %lld (%s)\n", result.output.c_str(), result.best_loss,
                  static_cast<long long>(result.best_epoch), static_cast<long long>(result.epochs),
                  result.outcome == Outcome::Interrupted ? "interrupted; --resume continues" : "done");
    return 0;
  } catch (...) {  // unmix::Error ("<file>: <problem>"), a filesystem error, out of memory
    // With ranks, the others may be waiting in a collective for this one: end them all.
    if (ranks->size() > 1) {
      std::string what = "unexpected error";
      try {
        throw;
      } catch (const std::bad_alloc&) {
        what = "out of memory";
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      ranks->abort("train: rank " + std::to_string(ranks->rank()) + " of " + std::to_string(ranks->size()) + ": " +
                       what + " (ending every rank)",
                   1);
    }
    return unmix::report_exception("train");
  }
}
