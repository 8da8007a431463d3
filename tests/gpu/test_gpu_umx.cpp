// The whole model on the GPU against the CPU reference: forward (eval, train), gradients, 10 Adam steps,
// the audio-level training step, and inference on the openunmix fixture. Bounds: forward 1e-4 (LSTM
// included), whole step (loss, every gradient, every parameter after 10 steps) 1e-3.
#include <gtest/gtest.h>

#include <cmath>

#include "fixture_model.h"
#include "gpu_test_support.h"
#include "test_support.h"
#include "unmix/error.h"
#include "unmix/gpu/umx_gpu.h"
#include "unmix/stft.h"
#include "unmix/umx_cpu.h"

using namespace unmix;
using test::poisoned;
using test::random_vector;
using test::rel_error;
using test::to_device;

namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.nfft = 256;
  c.nhop = 64;
  c.nb_bins = 129;
  c.max_bin = 100;
  c.hidden_size = 32;
  return c;
}

std::vector<float> slice(const std::vector<float>& v, const ParamEntry& e) {
  return {v.begin() + static_cast<std::ptrdiff_t>(e.offset), v.begin() + static_cast<std::ptrdiff_t>(e.offset + e.numel())};
}

double report(const std::string& what, double err) {
  std::printf("    %-40s rel. error %.2e\n", what.c_str(), err);
  return err;
}

// Forward in eval and training mode against the CPU, and the running statistics a training forward updates.
void expect_forward_matches_cpu(const ModelConfig& config, int frames) {
  UmxWeights w(config);
  w.init_synthetic(5);
  const int batch = 3;
  const auto mix = random_vector<float>(static_cast<std::size_t>(frames) * batch * config.output_features(), 6, 0, 2);
  for (Mode mode : {Mode::Eval, Mode::Train}) {
    UmxWeights cpu_w = w;
    UmxCpu cpu_model(cpu_w);
    cpu_model.set_lstm_dropout(0.f);
    std::vector<float> ref(mix.size());
    cpu_model.forward(mix.data(), frames, batch, mode, ref.data());
    gpu::UmxGpu gpu_model(config);
    gpu_model.upload(w);
    gpu_model.set_lstm_dropout(0.f);
    const cudaStream_t stream = gpu_model.stream();
    auto d_mix = to_device(mix, stream);
    auto d_out = poisoned<float>(mix.size(), stream);
    gpu_model.forward(d_mix.data(), frames, batch, mode, d_out.data());
    const std::string tag = std::string(mode == Mode::Train ? "train" : "eval") + " forward hidden " +
                            std::to_string(config.hidden_size);
    EXPECT_LE(report(tag, rel_error(d_out.download(stream), ref)), 1e-4);
    UmxWeights after(config);
    gpu_model.download(after);
    EXPECT_LE(rel_error(after.values, cpu_w.values), 1e-5) << "running statistics after " << tag;
    EXPECT_EQ(after.num_batches_tracked[0], cpu_w.num_batches_tracked[0]);
  }
}

}  // namespace

// Small configs run under compute-sanitizer (scripts/gpu-check.sh); the default-size model never does.
TEST(GpuUmx, ForwardMatchesCpuInBothModes) {
  UNMIX_REQUIRE_GPU();
  expect_forward_matches_cpu(small_config(), 13);
}

TEST(GpuUmxDefaultSize, ForwardMatchesCpuInBothModes) {
  UNMIX_REQUIRE_GPU();
  expect_forward_matches_cpu(ModelConfig{}, 40);
}

// The separator's model: inference purpose, no training buffers. Its eval forward is the training model's,
// and it refuses everything that needs the buffers it does not have.
TEST(GpuUmx, InferenceModelMatchesAndRefusesTraining) {
  UNMIX_REQUIRE_GPU();
  const ModelConfig config = small_config();
  UmxWeights w(config);
  w.init_synthetic(21);
  const int frames = 37, batch = 2;
  const auto mix = random_vector<float>(static_cast<std::size_t>(frames) * batch * config.output_features(), 22, 0, 2);
  std::vector<float> ref(mix.size());
  UmxWeights cpu_w = w;
  UmxCpu(cpu_w).forward(mix.data(), frames, batch, Mode::Eval, ref.data());
  gpu::GpuOptions options;
  options.purpose = gpu::Purpose::Inference;
  gpu::UmxGpu model(config, options);
  model.upload(w);
  const cudaStream_t stream = model.stream();
  auto d_mix = to_device(mix, stream);
  for (int shape : {0, 1}) {  // a second, shorter shape reuses the grown workspace
    const int t = shape == 0 ? frames : frames - 11;
    const std::size_t count = static_cast<std::size_t>(t) * batch * config.output_features();
    auto d_out = poisoned<float>(count, stream);
    model.forward(d_mix.data(), t, batch, Mode::Eval, d_out.data());
    std::vector<float> expected = ref;
    if (shape == 1) {
      expected.resize(count);
      UmxWeights again = w;
      UmxCpu(again).forward(mix.data(), t, batch, Mode::Eval, expected.data());
    }
    EXPECT_LE(report("inference model, frames " + std::to_string(t), rel_error(d_out.download(stream), expected)),
              1e-4);
  }
  auto d_out = poisoned<float>(mix.size(), stream);
  EXPECT_THROW(model.forward(d_mix.data(), frames, batch, Mode::Train, d_out.data()), Error);
  EXPECT_THROW(model.backward(d_out.data()), Error);
  EXPECT_THROW(model.adam_step({}), Error);
  EXPECT_THROW(model.download_grads(), Error);
}

TEST(GpuUmx, TenAdamStepsMatchCpu) {
  UNMIX_REQUIRE_GPU();
  const ModelConfig config = small_config();
  UmxWeights w(config);
  w.init_synthetic(7);
  const int frames = 11, batch = 4;
  const std::size_t count = static_cast<std::size_t>(frames) * batch * config.output_features();
  const auto mix = random_vector<float>(count, 8, 0, 2);
  auto target = random_vector<float>(count, 9, 0, 1);
  for (std::size_t i = 0; i < count; ++i) target[i] *= mix[i];

  UmxWeights cpu_w = w;
  UmxCpu cpu_model(cpu_w);
  cpu_model.set_lstm_dropout(0.f);
  gpu::UmxGpu gpu_model(config);
  gpu_model.upload(w);
  gpu_model.set_lstm_dropout(0.f);
  cpu::AdamOptions opt;
  opt.lr = 1e-3;
  opt.weight_decay = 1e-5;
  cpu::AdamState adam;
  std::vector<float> grads, scratch;
  const cudaStream_t stream = gpu_model.stream();
  auto d_mix = to_device(mix, stream), d_target = to_device(target, stream);
  auto d_out = poisoned<float>(count, stream), d_dout = poisoned<float>(count, stream);
  for (int step = 0; step < 10; ++step) {
    const double cpu_loss = train_step(cpu_model, mix.data(), target.data(), frames, batch, grads, adam, opt, scratch);
    gpu_model.zero_grads();
    gpu_model.forward(d_mix.data(), frames, batch, Mode::Train, d_out.data());
    const double gpu_loss = gpu_model.mse_loss(d_out.data(), d_target.data(), count, d_dout.data());
    gpu_model.backward(d_dout.data());
    EXPECT_NEAR(gpu_loss, cpu_loss, 1e-3 * cpu_loss) << "step " << step;
    if (step == 0) {
      const auto g = gpu_model.download_grads();
      double worst = 0;
      for (const auto& e : w.table.entries()) {
        if (!e.trainable || e.name == "input_mean") continue;  // input_mean's exact gradient is 0 in training
        const double err = rel_error(slice(g, e), slice(grads, e));
        worst = std::max(worst, err);
        EXPECT_LE(err, 1e-3) << "gradient of " << e.name;
      }
      report("worst gradient, step 1", worst);
    }
    gpu_model.adam_step(opt);
  }
  UmxWeights after(config);
  gpu_model.download(after);
  double worst = 0;
  for (const auto& e : w.table.entries()) {
    const double err = rel_error(slice(after.values, e), slice(cpu_w.values, e));
    worst = std::max(worst, err);
    EXPECT_LE(err, 1e-3) << e.name << " after 10 steps";
  }
  report("worst tensor after 10 Adam steps", worst);
}

TEST(GpuUmx, AudioTrainingStepMatchesCpuPipeline) {
  UNMIX_REQUIRE_GPU();
  const ModelConfig config = small_config();
  UmxWeights w(config);
  w.init_synthetic(10);
  const int batch = 2, C = 2;
  const std::int64_t samples = 256 + 64 * 20;
  const auto mix_audio = random_vector<float>(static_cast<std::size_t>(batch) * C * samples, 11);
  auto target_audio = mix_audio;
  for (auto& v : target_audio) v *= 0.5f;
  // CPU: the same STFT (center=false), magnitudes, then one training step.
  Stft stft(config.nfft, config.nhop);
  const int frames = stft.frames(samples, false);
  std::vector<float> mix(static_cast<std::size_t>(frames) * batch * C * config.nb_bins), target(mix.size());
  for (int b = 0; b < batch; ++b) {
    magnitude_frame_major(stft.forward(mix_audio.data() + b * C * samples, C, samples, false), batch, b, mix.data());
    magnitude_frame_major(stft.forward(target_audio.data() + b * C * samples, C, samples, false), batch, b, target.data());
  }
  UmxWeights cpu_w = w;
  UmxCpu cpu_model(cpu_w);
  cpu_model.set_lstm_dropout(0.f);
  cpu::AdamOptions opt;
  cpu::AdamState adam;
  std::vector<float> grads, scratch;
  const double cpu_loss = train_step(cpu_model, mix.data(), target.data(), frames, batch, grads, adam, opt, scratch);
  gpu::UmxGpu gpu_model(config);
  gpu_model.upload(w);
  gpu_model.set_lstm_dropout(0.f);
  auto d_mix = to_device(mix_audio, gpu_model.stream()), d_target = to_device(target_audio, gpu_model.stream());
  const double gpu_loss = gpu_model.train_step(d_mix.data(), d_target.data(), batch, samples, opt);
  EXPECT_NEAR(gpu_loss, cpu_loss, 1e-3 * cpu_loss);
  UmxWeights after(config);
  gpu_model.download(after);
  EXPECT_LE(report("params after one audio-level step", rel_error(after.values, cpu_w.values)), 1e-3);
}

TEST(GpuUmx, DropoutIsSeededAndOnlyInTraining) {
  UNMIX_REQUIRE_GPU();
  const ModelConfig config = small_config();
  UmxWeights w(config);
  w.init_synthetic(12);
  const int frames = 9, batch = 2;
  const auto mix = random_vector<float>(static_cast<std::size_t>(frames) * batch * config.output_features(), 13, 0, 2);
  auto run = [&](float p, Mode mode, std::uint64_t seed) {
    gpu::GpuOptions o;
    o.dropout_seed = seed;
    gpu::UmxGpu m(config, o);
    m.upload(w);
    m.set_lstm_dropout(p);
    auto d_mix = to_device(mix, m.stream());
    auto d_out = poisoned<float>(mix.size(), m.stream());
    m.forward(d_mix.data(), frames, batch, mode, d_out.data());
    return d_out.download(m.stream());
  };
  EXPECT_EQ(run(0.4f, Mode::Eval, 1), run(0.f, Mode::Eval, 1));
  EXPECT_NE(run(0.4f, Mode::Train, 1), run(0.f, Mode::Train, 1));
  EXPECT_EQ(run(0.4f, Mode::Train, 1), run(0.4f, Mode::Train, 1));
  EXPECT_NE(run(0.4f, Mode::Train, 1), run(0.4f, Mode::Train, 2));
}

TEST(GpuUmxDefaultSize, InferenceMatchesOpenunmixFixture) {
  UNMIX_REQUIRE_GPU();
  const auto f = test::load_model_fixture("umx_default_forward.safetensors");
  UmxWeights w(f.config);
  w.init_synthetic(f.seed);
  const auto bcft = f.f32("mix");
  std::vector<float> mix(bcft.size()), expected(bcft.size());
  to_frame_major(bcft.data(), f.batch, f.config.nb_channels, f.config.nb_bins, f.frames, mix.data());
  const auto out_bcft = f.f32("eval_output");
  to_frame_major(out_bcft.data(), f.batch, f.config.nb_channels, f.config.nb_bins, f.frames, expected.data());
  for (gpu::Purpose purpose : {gpu::Purpose::Training, gpu::Purpose::Inference}) {
    gpu::GpuOptions options;
    options.purpose = purpose;
    gpu::UmxGpu model(f.config, options);
    model.upload(w);
    auto d_mix = to_device(mix, model.stream());
    auto d_out = poisoned<float>(mix.size(), model.stream());
    model.forward(d_mix.data(), f.frames, f.batch, Mode::Eval, d_out.data());
    const std::string tag = std::string("openunmix eval forward, ") +
                            (purpose == gpu::Purpose::Inference ? "inference model" : "training model");
    EXPECT_LE(report(tag, rel_error(d_out.download(model.stream()), expected)), 1e-4);
  }
}
