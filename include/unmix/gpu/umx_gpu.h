#pragma once
// Open-Unmix on the GPU: the same function as UmxCpu, op by op. Parameters, gradients and Adam moments are
// single device buffers mirroring the CPU ParamTable; activations live in a workspace sized once per
// (frames, batch) shape. Dense layers run on cuBLAS, the BiLSTM on cuDNN, everything else on the kernels
// in kernels/. Device pointers throughout; spectrogram layout [frames][batch][channels][bins].
//
// All device work runs on the model's own stream() (non-blocking). A caller that hands in or reads back
// device buffers uses that stream for its copies (DeviceBuffer::upload/download(stream())), or synchronizes
// it first; upload(), download(), mse_loss() and the download_* functions return with the stream idle.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "unmix/cpu/adam.h"
#include "unmix/gpu/kernels.h"
#include "unmix/gpu/umx_workspace.h"
#include "unmix/param_table.h"
#include "unmix/umx_cpu.h"

namespace unmix::gpu {

// Data parallelism on GPUs (docs/training.md): this device holds `loss_share` = shard / global batch of
// each step's batch; sum_gradients adds the trainable gradient range over the ranks on the model's stream
// (NCCL all-reduce), between the backward and Adam. BatchNorm keeps per-device batch statistics.
struct DataParallelStep {
  float loss_share = 1.f;
  std::function<void(float* grads, std::size_t count, cudaStream_t stream)> sum_gradients;
};

struct GpuOptions {
  // Inference: eval-mode forwards only, without gradients, Adam moments or any buffer a backward needs
  // (what a separation uses; see umx_workspace.h).
  Purpose purpose = Purpose::Training;
  bool tf32 = false;             // TF32 tensor cores in cuBLAS and cuDNN (off for parity)
  int lstm_algorithm = 0;        // 0 standard, 1 persistent static, 2 persistent dynamic
  std::uint64_t dropout_seed = 0x5eed;
};

class UmxGpu {
 public:
  explicit UmxGpu(const ModelConfig& config, const GpuOptions& options = {});
  ~UmxGpu();
  UmxGpu(const UmxGpu&) = delete;
  UmxGpu& operator=(const UmxGpu&) = delete;

  const ModelConfig& config() const;
  const ParamTable& table() const;
  cudaStream_t stream() const;

  void upload(const UmxWeights& weights);       // parameters, running statistics, batch counters
  void download(UmxWeights& weights) const;
  void set_lstm_dropout(float p);

  // Forward from magnitudes (device, [T][B][C][bins]); out has the same shape.
  void forward(const float* mix, int frames, int batch, Mode mode, float* out);
  // Forward from the complex spectrum [B*C][T][bins] with the fused magnitude/crop/normalize kernel; the
  // mixture magnitude it computes is kept (mix_magnitude()).
  void forward_spectrum(const Complex* spectrum, int frames, int batch, Mode mode, float* out);
  const float* mix_magnitude() const;

  void zero_grads();
  // Accumulates dL/dparam of the last forward into grads() (running-statistics range untouched).
  void backward(const float* d_out);
  // Mean squared error of out against target (both device, count values); writes d_out (times scale);
  // returns the loss.
  double mse_loss(const float* out, const float* target, std::size_t count, float* d_out, float scale = 1.f);
  void adam_step(const cpu::AdamOptions& options);
  std::int64_t adam_steps() const;

  // One training step from time-domain batches [batch][channels][samples] (device): STFT (center=false),
  // magnitudes, forward, MSE, backward, Adam. Returns the loss (with `parallel`, this shard's share of the
  // global batch's loss; the caller adds the shares).
  double train_step(const float* mix_audio, const float* target_audio, int batch, std::int64_t samples,
                    const cpu::AdamOptions& options, const DataParallelStep* parallel = nullptr);
  // How many NaN/Inf values the last train_step left in the parameters (running statistics included) and in
  // the gradients it applied: counted on the device after Adam, read back with the loss in the step's one wait.
  struct NonFiniteCounts {
    std::uint64_t parameters = 0, gradients = 0;
  };
  NonFiniteCounts last_step_non_finite() const;

  float* params();
  float* grads();
  std::vector<float> download_grads() const;
  std::vector<float> download_adam_moments(bool second) const;
  // Resuming a training run: Adam moments (trainable_size() each) and step count, and how many dropout masks
  // have been drawn (the position in the dropout stream).
  void upload_adam_state(const std::vector<float>& exp_avg, const std::vector<float>& exp_avg_sq, std::int64_t step);
  std::uint64_t dropout_draws() const;
  void set_dropout_draws(std::uint64_t draws);
  std::vector<float> download_dropout_mask(int layer) const;  // layer >= 1: mask applied to its input

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace unmix::gpu
