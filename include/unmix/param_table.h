#pragma once
// All model tensors live in one flat float buffer. The table maps openunmix's state-dict names
// (fc1.weight, bn1.running_mean, lstm.weight_ih_l0_reverse, input_mean, ...) to (offset, shape).
// Trainable parameters come first as one contiguous range [0, trainable_size()), BatchNorm running
// statistics after it, so gradients, Adam moments and the GPU mirror are single buffers too.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "unmix/config.h"

namespace unmix {

struct ParamEntry {
  std::string name;
  std::size_t offset = 0;
  std::vector<std::int64_t> shape;  // as in PyTorch (row-major)
  bool trainable = true;
  std::size_t numel() const;
};

class ParamTable {
 public:
  static ParamTable for_umx(const ModelConfig& config);

  const std::vector<ParamEntry>& entries() const { return entries_; }
  const ParamEntry* find(std::string_view name) const;
  const ParamEntry& at(std::string_view name) const;  // throws unmix::Error for an unknown name
  std::size_t total_size() const { return total_; }
  std::size_t trainable_size() const { return trainable_; }

 private:
  void add(std::string name, std::vector<std::int64_t> shape, bool trainable);
  std::vector<ParamEntry> entries_;
  std::size_t total_ = 0;
  std::size_t trainable_ = 0;
};

// Names of the BatchNorm layers, in model order; each also has an int64 num_batches_tracked.
inline constexpr std::string_view kBatchNormNames[] = {"bn1", "bn2", "bn3"};

// Model weights: the table plus the flat buffer (and the BatchNorm batch counters, int64 in PyTorch).
struct UmxWeights {
  ModelConfig config;
  ParamTable table;
  std::vector<float> values;
  std::int64_t num_batches_tracked[3] = {0, 0, 0};

  explicit UmxWeights(const ModelConfig& cfg);  // openunmix's initial state for non-random tensors
  std::span<float> operator[](std::string_view name);
  std::span<const float> operator[](std::string_view name) const;

  // PyTorch's initialization for training from scratch: Linear and LSTM tensors uniform in
  // (-1/sqrt(fan), 1/sqrt(fan)) (fan: in_features for Linear, hidden size for LSTM), everything else at
  // openunmix's initial values. Deterministic for a seed (hash_uniform below).
  void init_random(std::uint64_t seed);
  // Every tensor random, BatchNorm statistics and input/output scaling included, in value ranges that keep
  // activations healthy: for parity fixtures, tests and benchmarks. scripts/make_fixtures.py reproduces it
  // bit for bit.
  void init_synthetic(std::uint64_t seed);
};

// Counter-based uniform numbers in [0, 1) that Python (numpy uint64) reproduces exactly:
// splitmix64(fnv1a64(name) ^ seed + index), top 53 bits.
double hash_uniform(std::string_view name, std::uint64_t seed, std::uint64_t index);

}  // namespace unmix
