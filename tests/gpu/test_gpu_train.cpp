// The GPU training engine against the CPU one (same steps, same validation sums), its state round trip,
// and a short training run on the GPU that learns and resumes.
#include <gtest/gtest.h>

#include <cmath>

#include "../cpu/test_train_corpus.h"
#include "gpu_test_support.h"
#include "test_support.h"
#include "unmix/train/checkpoint.h"
#include "unmix/train/engine.h"
#include "unmix/train/trainer.h"

namespace fs = std::filesystem;
using namespace unmix;
using namespace unmix::train;
using test::random_vector;
using test::rel_error;

namespace {

ModelConfig small_model() {
  ModelConfig c;
  c.nfft = 256;
  c.nhop = 64;
  c.nb_bins = 129;
  c.max_bin = 100;
  c.hidden_size = 32;
  c.lstm_dropout = 0.f;  // the two engines draw different dropout masks
  return c;
}

data::Batch make_batch(int batch, std::int64_t samples, const std::vector<float>& mix, const std::vector<float>& target) {
  data::Batch b;
  b.batch_size = batch;
  b.channels = 2;
  b.samples = samples;
  b.mix = mix.data();
  b.target = target.data();
  return b;
}

// A CPU and a GPU engine that start from the same weights and a fresh Adam state.
struct EnginePair {
  std::unique_ptr<TrainEngine> cpu, gpu;
};
EnginePair engines_from(const UmxWeights& w, const EngineOptions& options = {}) {
  cpu::AdamState adam;
  adam.reset(w.table.trainable_size());
  EnginePair engines{make_cpu_engine(w.config, options), make_gpu_engine(w.config, options)};
  engines.cpu->write_state(w, adam);
  engines.gpu->write_state(w, adam);
  return engines;
}

TEST(GpuTrainEngine, StepsAndValidationMatchTheCpuEngine) {
  UNMIX_REQUIRE_GPU();
  const ModelConfig config = small_model();
  UmxWeights w(config);
  w.init_synthetic(11);
  auto [cpu_engine, gpu_engine] = engines_from(w);

  const int batch = 3;
  const std::int64_t samples = 256 + 64 * 24;
  const auto mix = random_vector<float>(static_cast<std::size_t>(batch) * 2 * samples, 1, -0.5, 0.5);
  auto target = mix;
  for (auto& v : target) v *= 0.4f;
  cpu::AdamOptions adam_options;
  adam_options.lr = 1e-3;
  adam_options.weight_decay = 1e-5;
  for (int step = 0; step < 3; ++step) {
    const StepResult cpu_step = cpu_engine->train_step(make_batch(batch, samples, mix, target), adam_options);
    const StepResult gpu_step = gpu_engine->train_step(make_batch(batch, samples, mix, target), adam_options);
    const double cpu_loss = cpu_step.loss, gpu_loss = gpu_step.loss;
    EXPECT_LT(std::abs(gpu_loss - cpu_loss) / cpu_loss, 1e-3) << "step " << step << ": " << gpu_loss << " vs " << cpu_loss;
    EXPECT_EQ(gpu_step.non_finite_parameters, 0u);
    EXPECT_EQ(gpu_step.non_finite_gradients, 0u);
  }
  UmxWeights cpu_w(config), gpu_w(config);
  cpu::AdamState cpu_adam, gpu_adam;
  cpu_engine->read_state(cpu_w, cpu_adam);
  gpu_engine->read_state(gpu_w, gpu_adam);
  EXPECT_LT(rel_error(gpu_w.values, cpu_w.values), 1e-3);
  EXPECT_LT(rel_error(gpu_adam.exp_avg, cpu_adam.exp_avg), 1e-3);
  EXPECT_EQ(gpu_adam.step, 3);
  EXPECT_EQ(gpu_w.num_batches_tracked[0], cpu_w.num_batches_tracked[0]);

  // one "track" of 2 channels, validated in chunks of 7 frames (the last one shorter)
  const std::int64_t track_samples = 256 + 64 * 40;
  const auto track_mix = random_vector<float>(2 * static_cast<std::size_t>(track_samples), 2, -0.5, 0.5);
  const auto track_target = random_vector<float>(track_mix.size(), 3, -0.2, 0.2);
  for (int chunk : {7, 0}) {
    const ValidationSum c = cpu_engine->validate(make_batch(1, track_samples, track_mix, track_target), chunk);
    const ValidationSum g = gpu_engine->validate(make_batch(1, track_samples, track_mix, track_target), chunk);
    EXPECT_EQ(g.count, c.count);
    EXPECT_LT(std::abs(g.squared_error - c.squared_error) / c.squared_error, 1e-4) << "chunk " << chunk;
  }
}

// A learning rate past float's range makes Adam's step size infinite: the step's own loss is finite, every
// trainable parameter is not, and the running statistics and gradients still are. Both engines must count so.
TEST(GpuTrainEngine, ReportsTheNonFiniteParametersAStepLeavesAsTheCpuEngineDoes) {
  UNMIX_REQUIRE_GPU();
  const ModelConfig config = small_model();
  UmxWeights w(config);
  w.init_synthetic(13);
  auto [cpu_engine, gpu_engine] = engines_from(w);
  const int batch = 2;
  const std::int64_t samples = 256 + 64 * 12;
  const auto mix = random_vector<float>(static_cast<std::size_t>(batch) * 2 * samples, 6, -0.5, 0.5);
  auto target = mix;
  for (auto& v : target) v *= 0.3f;
  cpu::AdamOptions huge;
  huge.lr = 1e39;
  const StepResult c = cpu_engine->train_step(make_batch(batch, samples, mix, target), huge);
  const StepResult g = gpu_engine->train_step(make_batch(batch, samples, mix, target), huge);
  EXPECT_TRUE(std::isfinite(c.loss) && std::isfinite(g.loss)) << c.loss << " " << g.loss;
  EXPECT_EQ(c.non_finite_parameters, w.table.trainable_size());
  EXPECT_EQ(g.non_finite_parameters, c.non_finite_parameters);
  EXPECT_EQ(c.non_finite_gradients, 0u);
  EXPECT_EQ(g.non_finite_gradients, 0u);
  // the next step's gradients come from those parameters
  cpu::AdamOptions normal;
  const StepResult g2 = gpu_engine->train_step(make_batch(batch, samples, mix, target), normal);
  const StepResult c2 = cpu_engine->train_step(make_batch(batch, samples, mix, target), normal);
  EXPECT_GT(c2.non_finite_gradients, 0u);
  EXPECT_GT(g2.non_finite_gradients, 0u);
}

TEST(GpuTrainEngine, StateRoundTripsThroughTheDevice) {
  UNMIX_REQUIRE_GPU();
  const ModelConfig config = small_model();
  UmxWeights w(config);
  w.init_synthetic(12);
  w.num_batches_tracked[2] = 9;
  cpu::AdamState adam;
  adam.reset(w.table.trainable_size());
  adam.exp_avg = random_vector<float>(adam.exp_avg.size(), 4);
  adam.exp_avg_sq = random_vector<float>(adam.exp_avg.size(), 5, 0, 1);
  adam.step = 41;
  auto engine = make_gpu_engine(config, {});
  engine->write_state(w, adam);
  UmxWeights back(config);
  cpu::AdamState back_adam;
  engine->read_state(back, back_adam);
  EXPECT_EQ(back.values, w.values);
  EXPECT_EQ(back.num_batches_tracked[2], 9);
  EXPECT_EQ(back_adam.exp_avg, adam.exp_avg);
  EXPECT_EQ(back_adam.exp_avg_sq, adam.exp_avg_sq);
  EXPECT_EQ(back_adam.step, 41);
  EXPECT_TRUE(engine->set_dropout_state({"gpu-counter", "123"}));
  EXPECT_EQ(engine->dropout_state().state, "123");
  EXPECT_FALSE(engine->set_dropout_state({"cpu-mt19937_64", "1 2 3"}));
}

TEST(GpuTraining, LearnsAndResumesOnTheGpu) {
  UNMIX_REQUIRE_GPU();
  const fs::path dir = test::temp_dir("gpu-train");
  const auto manifest = test::write_corpus(dir / "corpus", 6, 2, 4.0);
  test::write_corpus_cache(manifest, dir / "corpus", dir / "cache");
  auto config = [&](const std::string& run, int epochs) {
    TrainConfig c;
    c.cache = (dir / "cache").string();
    c.output = (dir / run).string();
    c.device = "cuda";
    c.epochs = epochs;
    c.batch_size = 4;
    c.seq_dur = 1.0;
    c.samples_per_track = 8;
    c.lr = 0.01;
    c.hidden_size = 32;
    c.nfft = 512;
    c.nhop = 128;
    c.valid_chunk_dur = 1.5;
    return c;
  };
  TrainerHooks quiet;
  quiet.log = [](const std::string&) {};
  const TrainResult whole = run_training({config("whole", 6), {}, {}}, quiet);
  ASSERT_EQ(whole.outcome, Outcome::Finished) << whole.message;
  EXPECT_NE(whole.device.find("cuda"), std::string::npos);
  EXPECT_LT(whole.history.back().valid_loss, 0.8 * whole.history.front().valid_loss);

  ASSERT_EQ(run_training({config("halves", 3), {}, {}}, quiet).outcome, Outcome::Finished);
  TrainConfig more;
  more.epochs = 6;
  const TrainResult resumed = run_training({more, dir / "halves", {"epochs"}}, quiet);
  ASSERT_EQ(resumed.outcome, Outcome::Finished) << resumed.message;
  ASSERT_EQ(resumed.history.size(), whole.history.size());
  // cuDNN's LSTM backward and cuBLAS may reduce in a different order from run to run: a tolerance, not bits
  for (std::size_t e = 0; e < whole.history.size(); ++e)
    EXPECT_LT(std::abs(resumed.history[e].valid_loss - whole.history[e].valid_loss) / whole.history[e].valid_loss, 1e-3)
        << "epoch " << e + 1;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
