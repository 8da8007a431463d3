// The CPU training engine: Stft + UmxCpu + cpu::adam_step, for small models and CI.
#include <algorithm>
#include <sstream>
#include <vector>

#include "chunks.h"
#include "unmix/cpu/non_finite.h"
#include "unmix/error.h"
#include "unmix/stft.h"
#include "unmix/train/engine.h"
#include "unmix/umx_cpu.h"

namespace unmix::train {

namespace {

constexpr const char* kDropoutKind = "cpu-mt19937_64";

class CpuEngine final : public TrainEngine {
 public:
  CpuEngine(const ModelConfig& config, const EngineOptions& options)
      : weights_(config), model_(weights_, options.dropout_seed), stft_(config.nfft, config.nhop),
        hook_(options.input_hook), communicator_(options.communicator) {
    adam_.reset(weights_.table.trainable_size());
    if (communicator_ && communicator_->size() == 1) communicator_ = nullptr;
  }

  std::string description() const override { return "cpu"; }
  bool is_gpu() const override { return false; }

  StepResult train_step(const data::Batch& batch, const cpu::AdamOptions& options) override {
    check_channels(batch);
    const int frames = stft_.frames(batch.samples, false);
    if (frames < 1) fail("training", "excerpts are shorter than one STFT frame (raise --seq-dur)");
    magnitudes(batch.mix, batch, frames, mix_);
    magnitudes(batch.target, batch, frames, target_);
    if (hook_) hook_(adam_.step, mix_);
    if (communicator_) {
      parallel::Communicator* c = communicator_;
      model_.set_shard({batch.global_batch_size, batch.shard_offset,
                        [c](std::span<double> v) { c->sum(v, "batchnorm statistics"); },
                        [c](std::span<float> v) { c->sum(v, "gradient sum"); }});
    }
    StepResult result;
    result.loss = unmix::train_step(model_, mix_.data(), target_.data(), frames, batch.batch_size, grads_, adam_,
                                    options, scratch_);
    // Read-only scans of what the step wrote (a few ms for the default model, next to a step of seconds).
    result.non_finite_parameters = cpu::count_non_finite(weights_.values.data(), weights_.values.size());
    result.non_finite_gradients = cpu::count_non_finite(grads_.data(), weights_.table.trainable_size());
    return result;
  }

  ValidationSum validate(const data::Batch& track, int chunk_frames) override {
    check_channels(track);
    const int channels = track.channels, bins = weights_.config.nb_bins;
    ValidationSum sum;
    for (const FrameChunk& chunk : frame_chunks(stft_.frames(track.samples, false), chunk_frames, stft_.n_fft(),
                                                stft_.n_hop())) {
      const std::size_t values = static_cast<std::size_t>(chunk.count) * channels * bins;
      chunk_mix_.resize(values);
      chunk_target_.resize(values);
      out_.resize(values);
      slice_magnitudes(track.mix, track.samples, channels, chunk, chunk_mix_);
      slice_magnitudes(track.target, track.samples, channels, chunk, chunk_target_);
      model_.forward(chunk_mix_.data(), chunk.count, 1, Mode::Eval, out_.data());
      double squared = 0;
      for (std::size_t i = 0; i < values; ++i) {
        const double d = static_cast<double>(out_[i]) - chunk_target_[i];
        squared += d * d;
      }
      sum.squared_error += squared;
      sum.count += static_cast<std::int64_t>(values);
    }
    return sum;
  }

  void read_state(UmxWeights& weights, cpu::AdamState& adam) override {
    weights.values = weights_.values;
    std::copy(std::begin(weights_.num_batches_tracked), std::end(weights_.num_batches_tracked),
              weights.num_batches_tracked);
    adam = adam_;
  }

  void write_state(const UmxWeights& weights, const cpu::AdamState& adam) override {
    if (weights.values.size() != weights_.values.size()) fail("cpu engine", "weights do not match the model config");
    if (adam.exp_avg.size() != weights_.table.trainable_size() || adam.exp_avg_sq.size() != adam.exp_avg.size())
      fail("cpu engine", "Adam moments do not match the model config");
    weights_.values = weights.values;  // in place: model_ refers to weights_
    std::copy(std::begin(weights.num_batches_tracked), std::end(weights.num_batches_tracked),
              weights_.num_batches_tracked);
    adam_ = adam;
  }

  DropoutState dropout_state() override {
    std::ostringstream text;
    text << model_.dropout_rng();
    return {kDropoutKind, text.str()};
  }

  bool set_dropout_state(const DropoutState& state) override {
    if (state.kind != kDropoutKind) return false;
    std::istringstream text(state.state);
    std::mt19937_64 rng;
    text >> rng;
    if (text.fail()) fail("checkpoint", "corrupt dropout generator state");
    model_.dropout_rng() = rng;
    return true;
  }

 private:
  void check_channels(const data::Batch& batch) const {
    if (batch.channels != weights_.config.nb_channels)
      fail("training", "the cache has " + std::to_string(batch.channels) + " channel(s) but the model " +
                           std::to_string(weights_.config.nb_channels) + " (--nb-channels)");
  }

  // [batch][channels][samples] audio -> [frames][batch][channels][bins] magnitudes, items in parallel.
  void magnitudes(const float* audio, const data::Batch& batch, int frames, std::vector<float>& out) {
    const int items = batch.batch_size, channels = batch.channels;
    out.resize(static_cast<std::size_t>(frames) * items * channels * stft_.bins());
#pragma omp parallel for schedule(static)
    for (int b = 0; b < items; ++b) {
      const ComplexSpectrogram spec =
          stft_.forward(audio + static_cast<std::size_t>(b) * channels * batch.samples, channels, batch.samples, false);
      magnitude_frame_major(spec, items, b, out.data());
    }
  }

  // One chunk of a [channels][samples] track -> [frames][1][channels][bins] magnitudes.
  void slice_magnitudes(const float* audio, std::int64_t samples, int channels, const FrameChunk& chunk,
                        std::vector<float>& out) {
    slice_.resize(static_cast<std::size_t>(channels) * chunk.length);
    for (int c = 0; c < channels; ++c)
      std::copy_n(audio + c * samples + chunk.start, chunk.length, slice_.begin() + c * chunk.length);
    const ComplexSpectrogram spec = stft_.forward(slice_.data(), channels, chunk.length, false);
    magnitude_frame_major(spec, 1, 0, out.data());
  }

  UmxWeights weights_;
  UmxCpu model_;
  Stft stft_;
  cpu::AdamState adam_;
  std::function<void(std::int64_t, std::span<float>)> hook_;
  parallel::Communicator* communicator_;
  std::vector<float> mix_, target_, grads_, scratch_;
  std::vector<float> slice_, chunk_mix_, chunk_target_, out_;
};

}  // namespace

std::unique_ptr<TrainEngine> make_cpu_engine(const ModelConfig& config, const EngineOptions& options) {
  return std::make_unique<CpuEngine>(config, options);
}

}  // namespace unmix::train
