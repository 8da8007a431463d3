// Training-mode behaviour of the CPU reference: dropout statistics, Adam's formula, mode switches, a short
// optimisation that must reduce the loss, and the per-step count of non-finite parameters and gradients.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "test_support.h"
#include "unmix/cpu/adam.h"
#include "unmix/cpu/non_finite.h"
#include "unmix/train/engine.h"
#include "unmix/umx_cpu.h"

using namespace unmix;

namespace {
ModelConfig tiny_config() {
  ModelConfig c;
  c.nfft = 64;
  c.nhop = 16;
  c.nb_bins = 33;
  c.max_bin = 20;
  c.nb_channels = 2;
  c.hidden_size = 8;
  return c;
}
}  // namespace

TEST(Dropout, MaskStatistics) {
  const double p = 0.4;
  const Eigen::Index rows = 500, cols = 400;
  const cpu::Mat<float> x = cpu::Mat<float>::Constant(rows, cols, 2.f);
  cpu::Mat<float> mask, y;
  std::mt19937_64 rng(1);
  cpu::dropout_forward<float>(x, p, rng, mask, y);
  const double n = static_cast<double>(rows * cols);
  double kept = 0;
  for (Eigen::Index i = 0; i < mask.size(); ++i) {
    const float m = mask.data()[i];
    ASSERT_TRUE(m == 0.f || m == static_cast<float>(1.0 / (1.0 - p))) << m;
    kept += m != 0.f;
  }
  // Binomial(n, 0.6): the kept fraction lies within 6 standard deviations.
  const double sigma = std::sqrt(p * (1 - p) / n);
  EXPECT_NEAR(kept / n, 1 - p, 6 * sigma);
  EXPECT_NEAR(y.mean(), 2.0, 6 * 2.0 * std::sqrt(p / (1 - p) / n));  // inverted dropout keeps the mean
  // Neighbouring masks are independent: the lag-1 correlation of keep indicators is near zero.
  double same = 0;
  for (Eigen::Index i = 1; i < mask.size(); ++i) same += (mask.data()[i] != 0.f) == (mask.data()[i - 1] != 0.f);
  EXPECT_NEAR(same / (n - 1), (1 - p) * (1 - p) + p * p, 6 * 0.5 / std::sqrt(n));
}

TEST(Adam, MatchesTheFormulaInDouble) {
  auto params = test::random_vector<float>(64, 1);
  const auto initial = params;
  cpu::AdamOptions o;
  o.lr = 3e-3;
  o.weight_decay = 0.05;
  cpu::AdamState state;
  state.reset(params.size());
  std::vector<double> p(initial.size()), m(initial.size(), 0.0), v(initial.size(), 0.0);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = initial[i];
  for (int step = 1; step <= 5; ++step) {
    const auto grads = test::random_vector<float>(params.size(), 100 + step);
    cpu::adam_step(params, grads, state, o);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double g = grads[i] + o.weight_decay * p[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const double mhat = m[i] / (1 - std::pow(o.beta1, step));
      const double denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(o.beta2, step)) + o.eps;
      p[i] -= o.lr * mhat / denom;
    }
  }
  EXPECT_EQ(state.step, 5);
  std::vector<double> delta_ours(p.size()), delta_ref(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    delta_ours[i] = static_cast<double>(params[i]) - initial[i];
    delta_ref[i] = p[i] - initial[i];
  }
  EXPECT_LE(test::rel_error(delta_ours, delta_ref), 1e-4);
  EXPECT_LE(test::rel_error(params, p), 1e-6);
}

TEST(UmxCpuModes, EvalLeavesStatisticsAloneAndTrainUpdatesThem) {
  UmxWeights w(tiny_config());
  w.init_synthetic(3);
  const auto before = w.values;
  UmxCpu model(w);
  const int frames = 6, batch = 2;
  const auto mix = test::random_vector<float>(static_cast<std::size_t>(frames) * batch * 2 * 33, 4, 0, 2);
  std::vector<float> out(mix.size(), NAN);
  model.forward(mix.data(), frames, batch, Mode::Eval, out.data());
  EXPECT_EQ(w.values, before);
  EXPECT_EQ(w.num_batches_tracked[0], 0);
  for (float v : out) ASSERT_TRUE(std::isfinite(v) && v >= 0.f);
  model.forward(mix.data(), frames, batch, Mode::Train, out.data());
  EXPECT_NE(w.values, before);
  EXPECT_EQ(w.num_batches_tracked[0], 1);
  EXPECT_EQ(w.num_batches_tracked[2], 1);
}

TEST(UmxCpuModes, DropoutActsInTrainingOnlyAndIsSeeded) {
  const int frames = 6, batch = 2;
  const auto mix = test::random_vector<float>(static_cast<std::size_t>(frames) * batch * 2 * 33, 5, 0, 2);
  auto run = [&](float p, Mode mode, std::uint64_t seed) {
    UmxWeights w(tiny_config());
    w.init_synthetic(3);
    UmxCpu model(w, seed);
    model.set_lstm_dropout(p);
    std::vector<float> out(mix.size(), NAN);
    model.forward(mix.data(), frames, batch, mode, out.data());
    return out;
  };
  EXPECT_EQ(run(0.4f, Mode::Eval, 1), run(0.f, Mode::Eval, 1));
  EXPECT_NE(run(0.4f, Mode::Train, 1), run(0.f, Mode::Train, 1));
  EXPECT_EQ(run(0.4f, Mode::Train, 1), run(0.4f, Mode::Train, 1));
  EXPECT_NE(run(0.4f, Mode::Train, 1), run(0.4f, Mode::Train, 2));
}

TEST(UmxCpuTraining, LossFallsOnAFixedBatch) {
  UmxWeights w(tiny_config());
  w.init_random(9);
  UmxCpu model(w);
  const int frames = 8, batch = 4;
  const auto mix = test::random_vector<float>(static_cast<std::size_t>(frames) * batch * 2 * 33, 6, 0, 1);
  std::vector<float> target(mix.size());
  for (std::size_t i = 0; i < mix.size(); ++i) target[i] = 0.5f * mix[i];  // learnable: a constant mask
  cpu::AdamOptions opt;
  opt.lr = 1e-2;
  cpu::AdamState adam;
  std::vector<float> grads, scratch;
  const double first = train_step(model, mix.data(), target.data(), frames, batch, grads, adam, opt, scratch);
  double last = first;
  for (int i = 0; i < 60; ++i) last = train_step(model, mix.data(), target.data(), frames, batch, grads, adam, opt, scratch);
  EXPECT_LT(last, 0.2 * first) << "first " << first << " last " << last;
  // Running statistics are never touched by Adam (they are outside the trainable range).
  EXPECT_EQ(adam.exp_avg.size(), w.table.trainable_size());
}

TEST(UmxCpuLayout, FrameMajorRoundTrip) {
  const int batch = 2, channels = 2, bins = 5, frames = 3;
  const auto x = test::random_vector<float>(batch * channels * bins * frames, 7);
  std::vector<float> tbcf(x.size(), NAN), back(x.size(), NAN);
  to_frame_major(x.data(), batch, channels, bins, frames, tbcf.data());
  from_frame_major(tbcf.data(), batch, channels, bins, frames, back.data());
  EXPECT_EQ(back, x);
  // element (b=1, c=0, f=2, t=1) lands at [t][b][c][f]
  EXPECT_EQ(tbcf[((1 * batch + 1) * channels + 0) * bins + 2], x[((1 * channels + 0) * bins + 2) * frames + 1]);
}

TEST(NonFinite, CountsNaNAndInfinitiesAndNothingElse) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = test::random_vector<float>(100003, 8, -1e38, 1e38);
  EXPECT_EQ(cpu::count_non_finite(v.data(), v.size()), 0u);
  EXPECT_EQ(cpu::count_non_finite(v.data(), 0), 0u);
  // the edges of the finite range stay finite
  v[1] = std::numeric_limits<float>::max();
  v[2] = -std::numeric_limits<float>::max();
  v[3] = std::numeric_limits<float>::denorm_min();
  v[4] = -0.f;
  EXPECT_EQ(cpu::count_non_finite(v.data(), v.size()), 0u);
  v[0] = nan;
  v[500] = inf;
  v[77777] = -inf;
  v[v.size() - 1] = std::bit_cast<float>(0x7f800001u);  // NaN with the smallest mantissa
  v[v.size() - 2] = std::bit_cast<float>(0xffffffffu);  // negative NaN
  EXPECT_EQ(cpu::count_non_finite(v.data(), v.size()), 5u);
  EXPECT_EQ(cpu::count_non_finite(v.data() + 1, 499), 0u);
  EXPECT_EQ(cpu::count_non_finite(v.data() + 1, 500), 1u);
}

// A learning rate past float's range makes Adam's step size infinite: the step's own loss (computed before
// the update) is finite, every trainable parameter is not, the running statistics still are; the next step's
// gradients come from those parameters.
TEST(CpuTrainEngine, ReportsTheNonFiniteParametersAndGradientsOfEachStep) {
  const ModelConfig config = tiny_config();
  UmxWeights w(config);
  w.init_random(10);
  cpu::AdamState adam;
  adam.reset(w.table.trainable_size());
  auto engine = train::make_cpu_engine(config, {});
  engine->write_state(w, adam);
  const int batch = 2;
  const std::int64_t samples = 64 + 16 * 9;
  const auto mix = test::random_vector<float>(static_cast<std::size_t>(batch) * 2 * samples, 11, -0.5, 0.5);
  auto target = mix;
  for (auto& x : target) x *= 0.3f;
  data::Batch b;
  b.batch_size = batch;
  b.channels = 2;
  b.samples = samples;
  b.mix = mix.data();
  b.target = target.data();
  cpu::AdamOptions normal;
  const train::StepResult fine = engine->train_step(b, normal);
  EXPECT_EQ(fine.non_finite_parameters, 0u);
  EXPECT_EQ(fine.non_finite_gradients, 0u);
  cpu::AdamOptions huge;
  huge.lr = 1e39;
  const train::StepResult blown = engine->train_step(b, huge);
  EXPECT_TRUE(std::isfinite(blown.loss)) << blown.loss;
  EXPECT_EQ(blown.non_finite_parameters, w.table.trainable_size());
  EXPECT_EQ(blown.non_finite_gradients, 0u);
  const train::StepResult after = engine->train_step(b, normal);
  EXPECT_GT(after.non_finite_gradients, 0u);
}
