#pragma once
// The training loop of openunmix's train.py, headless and crash-safe.
//
// Per epoch: batches_per_epoch = ceil(train tracks x samples_per_track / batch_size) steps on random
// augmented excerpts (data::Loader, seeded per epoch so an epoch's batches depend only on the seed and the
// epoch number), then the validation loss on every whole track of the valid split (eval mode, chunked),
// then ReduceLROnPlateau and early stopping on it. Each epoch leaves in the output directory:
//   <target>.safetensors, <target>.json, separator.json   the best model so far (save_model), replaced each
//                                                         time the validation loss improves
//   checkpoint.safetensors   everything needed to continue exactly (checkpoint.h)
//   history.jsonl, loss.svg  per-epoch measurements and the loss curves
//   train.log                the progress lines
// Interrupting (the stop flag) finishes the current step, writes a checkpoint at that point and returns;
// resuming from it gives the same numbers as an uninterrupted run. With several ranks the flag of any rank
// stops all of them at the same step.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "unmix/train/config.h"
#include "unmix/train/engine.h"
#include "unmix/train/history.h"

namespace unmix::train {

struct RunRequest {
  // A fresh run: every setting. Resuming: only the fields named in `given` are applied, and of those only
  // the resumable ones may differ from the checkpoint's (others throw unmix::Error naming the flag).
  TrainConfig config;
  std::filesystem::path resume;     // previous run's output directory (or its checkpoint file); empty: fresh
  std::vector<std::string> given;   // keys (config_fields) set explicitly by the user
};

struct TrainerHooks {
  const std::atomic<bool>* stop = nullptr;            // polled after each step and between validation tracks
  std::function<void(const std::string& line)> log;   // progress lines (also appended to train.log)
  std::function<void(std::int64_t step)> after_step;  // after each optimizer step (steps counted from 1)
  EngineOptions engine;                               // device, tf32 and seed are taken from the config
  // Data parallelism (docs/training.md): the ranks of the run (nullptr: this process alone). Every rank calls
  // run_training with the same request; each trains on its shard of every batch and validates its share of
  // the tracks, and rank 0 alone logs and writes the output directory.
  parallel::Communicator* communicator = nullptr;
};

enum class Outcome {
  Finished,      // ran all epochs
  EarlyStopped,  // no validation improvement for `patience` epochs
  Interrupted,   // the stop flag was raised; a checkpoint holds the position
  Diverged,      // a loss was not finite; nothing was saved after the last good checkpoint
};

struct TrainResult {
  Outcome outcome = Outcome::Finished;
  std::string message;            // one line saying how the run ended
  std::filesystem::path output;   // the run directory
  std::string target;
  std::string device;
  std::int64_t epochs = 0;        // completed
  std::int64_t steps = 0;
  std::int64_t best_epoch = 0;
  double best_loss = 0;
  std::vector<EpochRecord> history;
};

// Throws unmix::Error for bad settings, a missing or inconsistent cache or checkpoint, and I/O failures.
TrainResult run_training(const RunRequest& request, const TrainerHooks& hooks = {});

// The settings a resumed run uses: the checkpoint's, with the resumable fields among `given` taken from
// `requested`. A non-resumable field in `given` that differs throws unmix::Error naming its flag.
TrainConfig merge_for_resume(const TrainConfig& saved, const TrainConfig& requested,
                             const std::vector<std::string>& given);

}  // namespace unmix::train
