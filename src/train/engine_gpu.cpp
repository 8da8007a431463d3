// The GPU training engine: UmxGpu's whole training step on batches copied from pinned host memory;
// validation chunks go through GpuStft and the fused magnitude kernel.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>

#include "chunks.h"
#include "unmix/error.h"
#include "unmix/gpu/buffer.h"
#include "unmix/gpu/device.h"
#include "unmix/gpu/gradient_sum.h"
#include "unmix/gpu/kernels.h"
#include "unmix/gpu/stft_gpu.h"
#include "unmix/gpu/umx_gpu.h"
#include "unmix/train/engine.h"

namespace unmix::train {

namespace {

constexpr const char* kDropoutKind = "gpu-counter";

// Page-locked host memory: the loader fills it, cudaMemcpyAsync reads it without a staging copy.
class PinnedHostAllocator final : public data::HostAllocator {
 public:
  void* allocate(std::size_t bytes) override {
    void* p = nullptr;
    UNMIX_CUDA(cudaHostAlloc(&p, bytes, cudaHostAllocDefault));
    return p;
  }
  void deallocate(void* pointer, std::size_t) noexcept override { cudaFreeHost(pointer); }
};

class GpuEngine final : public TrainEngine {
 public:
  GpuEngine(const ModelConfig& config, const EngineOptions& options, std::string description)
      : config_(config), model_(config, gpu_options(options)), stft_(config.nfft, config.nhop, model_.stream()),
        description_(std::move(description)), allocator_(std::make_shared<PinnedHostAllocator>()),
        ranks_(options.communicator && options.communicator->size() > 1 ? options.communicator : nullptr) {
    if (ranks_) {
      int device = 0;
      UNMIX_CUDA(cudaGetDevice(&device));
      gradients_ = gpu::make_gradient_sum(*ranks_, device);
    }
  }

  std::string description() const override { return description_; }
  bool is_gpu() const override { return true; }
  std::shared_ptr<data::HostAllocator> host_allocator() const override { return allocator_; }

  StepResult train_step(const data::Batch& batch, const cpu::AdamOptions& options) override {
    check_channels(batch);
    const std::size_t values = static_cast<std::size_t>(batch.batch_size) * batch.channels * batch.samples;
    mix_.reserve(values);
    target_.reserve(values);
    UNMIX_CUDA(cudaMemcpyAsync(mix_.data(), batch.mix, values * sizeof(float), cudaMemcpyHostToDevice, model_.stream()));
    UNMIX_CUDA(
        cudaMemcpyAsync(target_.data(), batch.target, values * sizeof(float), cudaMemcpyHostToDevice, model_.stream()));
    // Synchronous (the loss and the non-finite counts come back): the loader may refill the host buffers once
    // this returns.
    StepResult result;
    if (!ranks_) {
      result.loss = model_.train_step(mix_.data(), target_.data(), batch.batch_size, batch.samples, options);
    } else {
      gpu::DataParallelStep parallel;
      parallel.loss_share = static_cast<float>(batch.batch_size) / static_cast<float>(batch.global_batch_size);
      parallel.sum_gradients = [this](float* grads, std::size_t count, cudaStream_t stream) {
        gradients_->sum(grads, count, stream);
      };
      result.loss =
          model_.train_step(mix_.data(), target_.data(), batch.batch_size, batch.samples, options, &parallel);
      ranks_->sum(std::span<double>(&result.loss, 1), "training loss");
    }
    const gpu::UmxGpu::NonFiniteCounts counts = model_.last_step_non_finite();
    result.non_finite_parameters = counts.parameters;
    result.non_finite_gradients = counts.gradients;
    return result;
  }

  ValidationSum validate(const data::Batch& track, int chunk_frames) override {
    check_channels(track);
    const int channels = track.channels, bins = config_.nb_bins;
    const cudaStream_t stream = model_.stream();
    ValidationSum sum;
    for (const FrameChunk& chunk :
         frame_chunks(stft_.frames(track.samples, false), chunk_frames, config_.nfft, config_.nhop)) {
      const std::size_t audio = static_cast<std::size_t>(channels) * chunk.length;
      const std::size_t spectrum = static_cast<std::size_t>(channels) * chunk.count * bins;
      mix_.reserve(audio);
      target_.reserve(audio);
      mix_spectrum_.reserve(spectrum);
      target_spectrum_.reserve(spectrum);
      target_magnitude_.reserve(spectrum);
      out_.reserve(spectrum);
      partials_.reserve(gpu::mse_partials_size(spectrum));
      loss_.reserve(1);
      // The chunk's samples of every channel, packed [channels][length] on the device.
      const std::size_t row = static_cast<std::size_t>(chunk.length) * sizeof(float);
      const std::size_t pitch = static_cast<std::size_t>(track.samples) * sizeof(float);
      UNMIX_CUDA(cudaMemcpy2DAsync(mix_.data(), row, track.mix + chunk.start, pitch, row, channels,
                                   cudaMemcpyHostToDevice, stream));
      UNMIX_CUDA(cudaMemcpy2DAsync(target_.data(), row, track.target + chunk.start, pitch, row, channels,
                                   cudaMemcpyHostToDevice, stream));
      stft_.forward(mix_.data(), channels, chunk.length, false, mix_spectrum_.data());
      stft_.forward(target_.data(), channels, chunk.length, false, target_spectrum_.data());
      gpu::launch_magnitude_input_norm(target_spectrum_.data(), 1, channels, chunk.count, bins, config_.max_bin,
                                       nullptr, nullptr, target_magnitude_.data(), nullptr, stream);
      model_.forward_spectrum(mix_spectrum_.data(), chunk.count, 1, Mode::Eval, out_.data());
      gpu::launch_mse_loss(out_.data(), target_magnitude_.data(), spectrum, partials_.data(), loss_.data(), stream);
      double mse = 0;
      UNMIX_CUDA(cudaMemcpyAsync(&mse, loss_.data(), sizeof(double), cudaMemcpyDeviceToHost, stream));
      UNMIX_CUDA(cudaStreamSynchronize(stream));
      sum.squared_error += mse * static_cast<double>(spectrum);
      sum.count += static_cast<std::int64_t>(spectrum);
    }
    return sum;
  }

  void read_state(UmxWeights& weights, cpu::AdamState& adam) override {
    model_.download(weights);
    adam.exp_avg = model_.download_adam_moments(false);
    adam.exp_avg_sq = model_.download_adam_moments(true);
    adam.step = model_.adam_steps();
  }

  void write_state(const UmxWeights& weights, const cpu::AdamState& adam) override {
    model_.upload(weights);
    model_.upload_adam_state(adam.exp_avg, adam.exp_avg_sq, adam.step);
  }

  DropoutState dropout_state() override { return {kDropoutKind, std::to_string(model_.dropout_draws())}; }

  bool set_dropout_state(const DropoutState& state) override {
    if (state.kind != kDropoutKind) return false;
    try {
      model_.set_dropout_draws(std::stoull(state.state));
    } catch (const std::exception&) {
      fail("checkpoint", "corrupt dropout counter '" + state.state + "'");
    }
    return true;
  }

 private:
  static gpu::GpuOptions gpu_options(const EngineOptions& options) {
    gpu::GpuOptions g;
    g.tf32 = options.tf32;
    g.dropout_seed = options.dropout_seed;
    // Each rank its own dropout stream (the same seed would give every shard the same masks).
    if (options.communicator && options.communicator->size() > 1)
      g.dropout_seed += 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(options.communicator->rank());
    return g;
  }

  void check_channels(const data::Batch& batch) const {
    if (batch.channels != config_.nb_channels)
      fail("training", "the cache has " + std::to_string(batch.channels) + " channel(s) but the model " +
                           std::to_string(config_.nb_channels) + " (--nb-channels)");
  }

  ModelConfig config_;
  gpu::UmxGpu model_;
  gpu::GpuStft stft_;
  std::string description_;
  std::shared_ptr<PinnedHostAllocator> allocator_;
  gpu::DeviceBuffer<float> mix_, target_, target_magnitude_, out_;
  gpu::DeviceBuffer<gpu::Complex> mix_spectrum_, target_spectrum_;
  gpu::DeviceBuffer<double> partials_, loss_;
  parallel::Communicator* ranks_;                // several ranks, else nullptr
  std::unique_ptr<gpu::GradientSum> gradients_;  // NCCL, with ranks
};

}  // namespace

std::unique_ptr<TrainEngine> make_gpu_engine(const ModelConfig& config, const EngineOptions& options) {
  const gpu::DeviceReport report = gpu::require_devices();
  // One GPU per rank on a node: the node-local rank picks it.
  const int local = options.communicator ? options.communicator->local_rank() : 0;
  const gpu::DeviceInfo& d = report.devices[static_cast<std::size_t>(local) % report.devices.size()];
  UNMIX_CUDA(cudaSetDevice(d.index));
  const std::string description = "cuda:" + std::to_string(d.index) + " " + d.name + " (" +
                                  std::to_string(d.memory_bytes >> 30) + " GiB)";
  return std::make_unique<GpuEngine>(config, options, description);
}

std::unique_ptr<TrainEngine> make_engine(const ModelConfig& config, const EngineOptions& options) {
  if (options.device == "cpu") return make_cpu_engine(config, options);
  if (options.device == "cuda") return make_gpu_engine(config, options);
  if (options.device != "auto") fail("--device", "must be auto, cpu or cuda, not '" + options.device + "'");
  return gpu::query_devices().available() ? make_gpu_engine(config, options) : make_cpu_engine(config, options);
}

}  // namespace unmix::train
