// CPU reference == openunmix-pytorch: forward (eval and train), loss, every gradient, and every tensor after
// Adam steps with weight decay, on fixtures written by scripts/make_fixtures.py.
#include <gtest/gtest.h>

#include <cmath>

#include "fixture_model.h"
#include "test_support.h"
#include "unmix/umx_cpu.h"

using namespace unmix;
using unmix::test::rel_error;

namespace {

constexpr double kForwardBound = 1e-5;
constexpr double kGradientBound = 1e-4;
constexpr double kParameterBound = 1e-4;

std::vector<float> frame_major(const std::vector<float>& bcft, const test::ModelFixture& f, int bins) {
  std::vector<float> out(bcft.size(), NAN);
  to_frame_major(bcft.data(), f.batch, f.config.nb_channels, bins, f.frames, out.data());
  return out;
}

double report(const std::string& what, double err) {
  std::printf("    %-34s rel. error %.3g\n", what.c_str(), err);
  return err;
}

class SmallTraining : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST(UmxParity, SyntheticWeightsReproducePythonGenerator) {
  for (const char* name : {"umx_small_train.safetensors", "umx_mono_train.safetensors"}) {
    const auto f = test::load_model_fixture(name);
    UmxWeights w(f.config);
    w.init_synthetic(f.seed);
    for (const auto& e : w.table.entries()) {
      const auto theirs = f.f32("initial." + e.name);
      const auto ours = w[e.name];
      ASSERT_EQ(theirs.size(), ours.size()) << e.name;
      for (std::size_t i = 0; i < ours.size(); ++i) ASSERT_EQ(ours[i], theirs[i]) << e.name << "[" << i << "]";
    }
  }
}

TEST(UmxParity, DefaultSizeForwardEvalAndTrain) {
  const auto f = test::load_model_fixture("umx_default_forward.safetensors");
  ASSERT_EQ(f.config.hidden_size, 512);
  ASSERT_EQ(f.config.nb_bins, 2049);
  ASSERT_EQ(f.config.max_bin, 1487);
  UmxWeights w(f.config);
  w.init_synthetic(f.seed);
  UmxCpu model(w);
  model.set_lstm_dropout(0.f);
  const auto mix = frame_major(f.f32("mix"), f, f.config.nb_bins);
  std::vector<float> out(mix.size(), NAN);
  model.forward(mix.data(), f.frames, f.batch, Mode::Eval, out.data());
  EXPECT_LE(report("default eval forward", rel_error(out, frame_major(f.f32("eval_output"), f, 2049))), kForwardBound);
  std::fill(out.begin(), out.end(), NAN);
  model.forward(mix.data(), f.frames, f.batch, Mode::Train, out.data());
  EXPECT_LE(report("default train forward", rel_error(out, frame_major(f.f32("train_output"), f, 2049))),
            kForwardBound);
  EXPECT_LE(report("bn3.running_mean after train", rel_error(w["bn3.running_mean"], f.f32("after_train.bn3.running_mean"))),
            kForwardBound);
  EXPECT_LE(report("bn3.running_var after train", rel_error(w["bn3.running_var"], f.f32("after_train.bn3.running_var"))),
            kForwardBound);
  EXPECT_EQ(w.num_batches_tracked[2], 1);
}

TEST_P(SmallTraining, ForwardGradientsAndAdamSteps) {
  const auto f = test::load_model_fixture(GetParam());
  const int bins = f.config.nb_bins;
  UmxWeights w(f.config);
  w.init_synthetic(f.seed);
  UmxCpu model(w);
  model.set_lstm_dropout(0.f);  // the fixture ran torch with dropout off
  const auto mix = frame_major(f.f32("mix"), f, bins);
  const auto target = frame_major(f.f32("target"), f, bins);

  std::vector<float> out(mix.size(), NAN);
  model.forward(mix.data(), f.frames, f.batch, Mode::Eval, out.data());
  EXPECT_LE(report("eval forward", rel_error(out, frame_major(f.f32("eval_output"), f, bins))), kForwardBound);

  // One step by hand to see the gradients, then the rest through train_step.
  std::vector<float> grads(w.table.total_size(), 0.f);
  std::fill(out.begin(), out.end(), NAN);
  model.forward(mix.data(), f.frames, f.batch, Mode::Train, out.data());
  EXPECT_LE(report("train forward", rel_error(out, frame_major(f.f32("train_output"), f, bins))), kForwardBound);
  const double loss0 = cpu::mse_loss_forward<float>(out.data(), target.data(), out.size());
  const auto losses = f.f64("losses");
  EXPECT_NEAR(loss0, losses[0], 1e-5 * std::abs(losses[0]));
  std::vector<float> d_out(out.size());
  cpu::mse_loss_backward<float>(out.data(), target.data(), out.size(), 1.f, d_out.data());
  model.backward(d_out.data(), grads);
  double worst = 0;
  for (const auto& e : w.table.entries()) {
    if (!e.trainable) continue;
    const std::span<const float> ours(grads.data() + e.offset, e.numel());
    const auto theirs = f.f32("grad." + e.name);
    if (e.name == "input_mean") {
      // In training, BN1 subtracts the batch mean, which cancels any constant shift of fc1's input: the exact
      // gradient of input_mean is zero and both sides hold only rounding noise. Check that it is noise.
      const auto scale_grad = f.f32("grad.input_scale");
      auto norm = [](const auto& v) {
        double s2 = 0;
        for (float x : v) s2 += static_cast<double>(x) * x;
        return std::sqrt(s2);
      };
      EXPECT_LE(norm(ours), 1e-5 * norm(scale_grad));
      EXPECT_LE(norm(theirs), 1e-5 * norm(scale_grad));
      continue;
    }
    const double err = rel_error(ours, theirs);
    worst = std::max(worst, err);
    EXPECT_LE(err, kGradientBound) << "gradient of " << e.name;
  }
  report("worst parameter gradient", worst);

  cpu::AdamOptions adam_opt;
  adam_opt.lr = f.meta("lr");
  adam_opt.weight_decay = f.meta("weight_decay");
  cpu::AdamState adam;
  adam.reset(w.table.trainable_size());
  cpu::adam_step(std::span<float>(w.values.data(), w.table.trainable_size()),
                 std::span<const float>(grads.data(), w.table.trainable_size()), adam, adam_opt);
  std::vector<float> scratch;
  const int steps = static_cast<int>(f.meta("steps"));
  for (int s = 1; s < steps; ++s) {
    const double loss = train_step(model, mix.data(), target.data(), f.frames, f.batch, grads, adam, adam_opt, scratch);
    EXPECT_NEAR(loss, losses[s], 1e-4 * std::abs(losses[s])) << "step " << s;
  }
  worst = 0;
  double worst_delta = 0;
  for (const auto& e : w.table.entries()) {
    const auto ours = w[e.name];
    const auto theirs = f.f32("after." + e.name);
    const double err = rel_error(ours, theirs);
    worst = std::max(worst, err);
    EXPECT_LE(err, kParameterBound) << e.name << " after " << steps << " steps";
    // The change itself, so a near-no-op update could not hide: Adam normalizes each step to ~lr. (Not for
    // input_mean, whose update follows the sign of pure rounding noise, see above.)
    if (e.name == "input_mean") continue;
    const auto initial = f.f32("initial." + e.name);
    std::vector<double> d_ours(ours.size()), d_theirs(ours.size());
    for (std::size_t i = 0; i < ours.size(); ++i) {
      d_ours[i] = static_cast<double>(ours[i]) - initial[i];
      d_theirs[i] = static_cast<double>(theirs[i]) - initial[i];
    }
    const double delta_err = rel_error(d_ours, d_theirs);
    worst_delta = std::max(worst_delta, delta_err);
    EXPECT_LE(delta_err, 1e-2) << "change of " << e.name;
  }
  report("worst tensor after Adam steps", worst);
  report("worst tensor change over the steps", worst_delta);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(w.num_batches_tracked[i], f.i64("after.bn" + std::to_string(i + 1) + ".num_batches_tracked")[0]);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SmallTraining,
                         ::testing::Values("umx_small_train.safetensors", "umx_mono_train.safetensors"));
