#pragma once
// A training checkpoint: one safetensors file (<output>/checkpoint.safetensors), written atomically
// (temporary file + rename) so a crash leaves the previous one intact. Tensors:
//   model.<state-dict name>   every model tensor (F32), model.bnX.num_batches_tracked (I64 scalars)
//   adam.exp_avg, adam.exp_avg_sq   F32 [trainable parameters];  adam.step  I64 scalar
// and in the header's __metadata__, "unmix.train_state": a JSON object with the run's settings, the model
// hyper-parameters, the scheduler and early-stopping state, the dropout generator, the position in the
// epoch (for a checkpoint taken when interrupted), the learning rate and the history.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "unmix/cpu/adam.h"
#include "unmix/param_table.h"
#include "unmix/train/config.h"
#include "unmix/train/engine.h"
#include "unmix/train/history.h"
#include "unmix/train/schedule.h"

namespace unmix::train {

struct TrainState {
  TrainConfig config;
  std::string target;             // resolved target name
  std::int64_t epoch = 0;         // epochs completed
  // Set when interrupted inside epoch `epoch + 1`: batches of it already trained (the whole epoch when the
  // interruption came during validation), and what they measured so far.
  std::int64_t batches_done = 0;
  double partial_loss_sum = 0;
  double partial_train_seconds = 0, partial_wait_seconds = 0;
  double lr = 0;                  // learning rate for the next step
  std::int64_t steps = 0;         // optimizer steps so far
  std::int64_t best_epoch = 0;    // 0: none yet
  PlateauScheduler scheduler;
  EarlyStopping stopping;
  DropoutState dropout;
  std::vector<EpochRecord> history;
};

struct Checkpoint {
  TrainState state;
  UmxWeights weights;
  cpu::AdamState adam;
};

inline std::filesystem::path checkpoint_path(const std::filesystem::path& output) {
  return output / "checkpoint.safetensors";
}

void save_checkpoint(const std::filesystem::path& file, const TrainState& state, const UmxWeights& weights,
                     const cpu::AdamState& adam);
// Throws unmix::Error naming the file when it is missing, malformed or inconsistent.
Checkpoint load_checkpoint(const std::filesystem::path& file);

}  // namespace unmix::train
