#pragma once
// The CPU reference Open-Unmix: openunmix.model.OpenUnmix's forward, with an explicit backward.
//
// Spectrogram layout: [frames, batch, channels, nb_bins] float32, row-major (frame-major). This is the layout
// openunmix works in after `x.permute(3, 0, 1, 2)`; its (batch, channels, bins, frames) tensors convert with
// to_frame_major / from_frame_major.
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <vector>

#include "unmix/cpu/adam.h"
#include "unmix/cpu/layers.h"
#include "unmix/param_table.h"

namespace unmix {

enum class Mode { Train, Eval };

// Data parallelism (docs/training.md): this process holds items [offset, offset + batch) of every global
// batch of global_batch items, and the sums add buffers over all the processes in a fixed order. Training
// then computes what one process would on the global batch: BatchNorm on the global batch's statistics,
// dropout masks from the global batch's stream, the loss as the global mean, and the gradient summed over
// the processes before Adam (so every process applies the same update).
struct BatchShard {
  int global_batch = 0;  // 0: not sharded, this process holds the whole batch
  int offset = 0;
  cpu::SumAcross sum_doubles;
  std::function<void(std::span<float>)> sum_floats;
  bool active() const { return global_batch > 0; }
};

class UmxCpu {
 public:
  explicit UmxCpu(UmxWeights& weights, std::uint64_t dropout_seed = 0x5eed);

  // out receives frames * batch * channels * nb_bins values. Train mode uses batch statistics (updating the
  // running statistics and num_batches_tracked) and LSTM dropout; Eval mode neither.
  void forward(const float* mix, int frames, int batch, Mode mode, float* out);
  // Gradient of the last forward's output: accumulates dL/dparam into grads (table.total_size() entries;
  // the BatchNorm running-statistics range is left untouched). Optional d_mix gets dL/dmix through the
  // normalized input path only (openunmix detaches the mix in the final product).
  void backward(const float* d_out, std::span<float> grads, float* d_mix = nullptr);

  UmxWeights& weights() { return w_; }
  std::mt19937_64& dropout_rng() { return rng_; }
  // The dropout probability used between LSTM layers in Train mode (defaults to config.lstm_dropout).
  void set_lstm_dropout(float p) { dropout_ = p; }
  // Train-mode forwards and train_step from now on work on this shard (BatchShard{}: the whole batch).
  void set_shard(BatchShard shard) { shard_ = std::move(shard); }
  const BatchShard& shard() const { return shard_; }

 private:
  UmxWeights& w_;
  std::mt19937_64 rng_;
  float dropout_;
  BatchShard shard_;

  // Activations kept from the last forward for backward.
  int frames_ = 0, batch_ = 0;
  Mode mode_ = Mode::Eval;
  const float* mix_ = nullptr;
  cpu::Mat<float> x_in_, fc1_out_, bn1_out_, tanh_out_;
  std::vector<cpu::Mat<float>> lstm_in_, lstm_out_, dropout_mask_;
  std::vector<cpu::LstmCache<float>> lstm_cache_;
  cpu::Mat<float> concat_, fc2_out_, bn2_out_, relu_out_, fc3_out_, bn3_out_;
  // backward scratch, kept between steps: the output-sized ones are tens of MB, and allocating them anew
  // every step costs page faults and zeroing
  cpu::Mat<float> d_a_, d_b_, d_concat_, d_lstm_, d_in_, d_tanh_;
  cpu::BatchNormCache<float> bn_cache_[3];
};

// One training step as openunmix's train.py: zero grads, forward (Train), MSE against target, backward,
// Adam over the trainable range. Returns the loss. grads must hold table.total_size() floats. With a shard
// set on the model, `batch` is the shard's and the loss returned is the global batch's.
double train_step(UmxCpu& model, const float* mix, const float* target, int frames, int batch,
                  std::vector<float>& grads, cpu::AdamState& adam, const cpu::AdamOptions& options,
                  std::vector<float>& scratch_out);

// (batch, channels, bins, frames) <-> (frames, batch, channels, bins)
void to_frame_major(const float* bcft, int batch, int channels, int bins, int frames, float* tbcf);
void from_frame_major(const float* tbcf, int batch, int channels, int bins, int frames, float* bcft);

}  // namespace unmix
