#pragma once
// Where the training arithmetic runs: the CPU reference (UmxCpu) or the GPU engine (UmxGpu). The trainer
// hands an engine time-domain batches from the loader and reads the state back for checkpoints; the engine
// does the training STFT (center=false, as openunmix's encoder), the model and Adam.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "unmix/cpu/adam.h"
#include "unmix/data/loader.h"
#include "unmix/parallel/communicator.h"
#include "unmix/param_table.h"

namespace unmix::train {

// Sum of squared errors over one validation track and how many values went in (MSE = sum / count).
struct ValidationSum {
  double squared_error = 0;
  std::int64_t count = 0;
};

// The dropout random state, opaque to the trainer. `kind` names the generator, so a run resumed on the
// other device can tell that it cannot continue the same stream.
struct DropoutState {
  std::string kind;
  std::string state;
};

// What one training step returns: its loss, and how many NaN/Inf values it left in the parameters (running
// statistics included) and in the gradients it applied, from a read-only scan after Adam.
struct StepResult {
  double loss = 0;
  std::uint64_t non_finite_parameters = 0, non_finite_gradients = 0;
};

struct EngineOptions {
  std::string device = "auto";  // auto | cpu | cuda
  bool tf32 = false;            // GPU only
  std::uint64_t dropout_seed = 42;
  // Data parallelism: the ranks this engine trains with (nullptr or size 1: alone). Batches are then shards
  // (Batch::global_batch_size, shard_offset) and train_step computes the global batch's step (docs/training.md).
  parallel::Communicator* communicator = nullptr;
  // Test hook (CPU engine only): sees the mixture magnitudes of every training step, [frames][batch][channels]
  // [bins], before the model does; may change them (e.g. to inject a NaN).
  std::function<void(std::int64_t step, std::span<float> mix_magnitude)> input_hook;
};

class TrainEngine {
 public:
  virtual ~TrainEngine() = default;
  virtual std::string description() const = 0;  // "cpu" or "cuda:0 NVIDIA H100 ..."
  virtual bool is_gpu() const = 0;
  // Memory for loader batches (pinned on the GPU so copies are fast).
  virtual std::shared_ptr<data::HostAllocator> host_allocator() const { return data::default_host_allocator(); }

  // One step of openunmix's train(): STFT, forward (train mode), MSE against the target magnitude,
  // backward, Adam. Returns the loss (not finite: the model is no longer usable; with ranks, the global
  // batch's, the same on every rank) and the non-finite counts of this rank's parameters and gradients
  // (any: the model is no longer usable either, though the loss may still look finite).
  virtual StepResult train_step(const data::Batch& batch, const cpu::AdamOptions& options) = 0;
  // One whole track (batch of 1) in eval mode, in chunks of chunk_frames STFT frames (<= 0: one piece).
  virtual ValidationSum validate(const data::Batch& track, int chunk_frames) = 0;

  virtual void read_state(UmxWeights& weights, cpu::AdamState& adam) = 0;
  virtual void write_state(const UmxWeights& weights, const cpu::AdamState& adam) = 0;
  virtual DropoutState dropout_state() = 0;
  // False when the state is of another kind (and nothing changed).
  virtual bool set_dropout_state(const DropoutState& state) = 0;
};

std::unique_ptr<TrainEngine> make_cpu_engine(const ModelConfig& config, const EngineOptions& options);
// Throws unmix::Error "--device cuda: <why no device is usable>" without a device.
std::unique_ptr<TrainEngine> make_gpu_engine(const ModelConfig& config, const EngineOptions& options);
// options.device: "cpu", "cuda", or "auto" (the GPU when one is usable, else the CPU).
std::unique_ptr<TrainEngine> make_engine(const ModelConfig& config, const EngineOptions& options);

}  // namespace unmix::train
