// Finite-difference gradient checks, in double, for every layer's backward.
// Each check contracts the layer output with a fixed random tensor R (loss = sum(out * R)), then compares
// the analytic gradient of every input and parameter with central differences.
#include <gtest/gtest.h>

#include <functional>

#include "test_support.h"
#include "unmix/cpu/layers.h"

using namespace unmix::cpu;
using unmix::test::random_vector;
using unmix::test::rel_error;

namespace {

using MatD = Mat<double>;
constexpr double kStep = 1e-6;
constexpr double kBound = 1e-6;  // central differences in double are good to ~1e-9 here; leave margin

MatD random_mat(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed, double lo = -1, double hi = 1) {
  const auto v = random_vector<double>(static_cast<std::size_t>(rows * cols), seed, lo, hi);
  return Eigen::Map<const MatD>(v.data(), rows, cols);
}

// Numerical gradient of loss() with respect to every entry of `values` (perturbed in place and restored).
std::vector<double> numeric_gradient(double* values, std::size_t count, const std::function<double()>& loss) {
  std::vector<double> g(count);
  for (std::size_t i = 0; i < count; ++i) {
    const double saved = values[i];
    values[i] = saved + kStep;
    const double up = loss();
    values[i] = saved - kStep;
    const double down = loss();
    values[i] = saved;
    g[i] = (up - down) / (2 * kStep);
  }
  return g;
}

double contract(const MatD& y, const MatD& r) { return (y.array() * r.array()).sum(); }

void expect_close(const std::vector<double>& analytic, const std::vector<double>& numeric, const char* what) {
  const double err = rel_error(analytic, numeric);
  EXPECT_LE(err, kBound) << what;
  std::printf("    %-28s rel. error %.2e\n", what, err);
}

std::vector<double> as_vector(const MatD& m) { return {m.data(), m.data() + m.size()}; }

}  // namespace

TEST(GradCheck, Linear) {
  const int in = 7, out = 5, n = 6;
  MatD x = random_mat(in, n, 1);
  auto w = random_vector<double>(out * in, 2);
  const MatD r = random_mat(out, n, 3);
  auto loss = [&] {
    MatD y;
    linear_forward<double>(x, w.data(), out, y);
    return contract(y, r);
  };
  std::vector<double> dw(w.size(), 0.0);
  MatD dx;
  linear_backward<double>(r, x, w.data(), out, &dx, dw.data());
  expect_close(dw, numeric_gradient(w.data(), w.size(), loss), "linear dW");
  expect_close(as_vector(dx), numeric_gradient(x.data(), x.size(), loss), "linear dx");
}

TEST(GradCheck, BatchNormTrainAndEval) {
  const int channels = 4, n = 9;
  MatD x = random_mat(channels, n, 4, -2, 3);
  auto gamma = random_vector<double>(channels, 5, 0.5, 1.5), beta = random_vector<double>(channels, 6);
  const auto rm0 = random_vector<double>(channels, 7), rv0 = random_vector<double>(channels, 8, 0.5, 2);
  const MatD r = random_mat(channels, n, 9);
  for (bool train : {true, false}) {
    auto loss = [&] {
      auto rm = rm0, rv = rv0;  // running stats are side effects, not inputs of the loss
      MatD y;
      BatchNormCache<double> cache;
      if (train)
        batchnorm_train_forward<double>(x, gamma.data(), beta.data(), rm.data(), rv.data(), {}, y, cache);
      else
        batchnorm_eval_forward<double>(x, gamma.data(), beta.data(), rm.data(), rv.data(), {}, y, cache);
      return contract(y, r);
    };
    auto rm = rm0, rv = rv0;
    MatD y, dx;
    BatchNormCache<double> cache;
    std::vector<double> dg(channels, 0.0), db(channels, 0.0);
    if (train) {
      batchnorm_train_forward<double>(x, gamma.data(), beta.data(), rm.data(), rv.data(), {}, y, cache);
      batchnorm_train_backward<double>(r, x, gamma.data(), cache, dx, dg.data(), db.data());
    } else {
      batchnorm_eval_forward<double>(x, gamma.data(), beta.data(), rm.data(), rv.data(), {}, y, cache);
      batchnorm_eval_backward<double>(r, x, gamma.data(), cache, dx, dg.data(), db.data());
    }
    expect_close(as_vector(dx), numeric_gradient(x.data(), x.size(), loss), train ? "bn train dx" : "bn eval dx");
    expect_close(dg, numeric_gradient(gamma.data(), gamma.size(), loss), train ? "bn train dgamma" : "bn eval dgamma");
    expect_close(db, numeric_gradient(beta.data(), beta.size(), loss), train ? "bn train dbeta" : "bn eval dbeta");
  }
}

TEST(GradCheck, BatchNormRunningStatisticsFollowPyTorch) {
  const int channels = 3, n = 5;
  const MatD x = random_mat(channels, n, 10, -1, 2);
  std::vector<double> gamma(channels, 1.0), beta(channels, 0.0), rm(channels, 0.5), rv(channels, 2.0);
  MatD y;
  BatchNormCache<double> cache;
  batchnorm_train_forward<double>(x, gamma.data(), beta.data(), rm.data(), rv.data(), {}, y, cache);
  for (int c = 0; c < channels; ++c) {
    const double mean = x.row(c).mean();
    const double unbiased = (x.row(c).array() - mean).square().sum() / (n - 1);
    EXPECT_NEAR(rm[c], 0.9 * 0.5 + 0.1 * mean, 1e-14);
    EXPECT_NEAR(rv[c], 0.9 * 2.0 + 0.1 * unbiased, 1e-14);
  }
}

TEST(GradCheck, TanhAndRelu) {
  MatD x = random_mat(5, 4, 11, -2, 2);
  const MatD r = random_mat(5, 4, 12);
  {
    auto loss = [&] {
      MatD y;
      tanh_forward<double>(x, y);
      return contract(y, r);
    };
    MatD y, dx;
    tanh_forward<double>(x, y);
    tanh_backward<double>(r, y, dx);
    expect_close(as_vector(dx), numeric_gradient(x.data(), x.size(), loss), "tanh dx");
  }
  {
    auto loss = [&] {
      MatD y;
      relu_forward<double>(x, y);
      return contract(y, r);
    };
    MatD dx;
    relu_backward<double>(r, x, dx);
    expect_close(as_vector(dx), numeric_gradient(x.data(), x.size(), loss), "relu dx");
  }
}

TEST(GradCheck, DropoutWithFixedMask) {
  MatD x = random_mat(6, 5, 13);
  const MatD r = random_mat(6, 5, 14);
  std::mt19937_64 rng(99);
  MatD mask, y;
  dropout_forward<double>(x, 0.4, rng, mask, y);
  auto loss = [&] { return contract(x.cwiseProduct(mask), r); };
  MatD dx;
  dropout_backward<double>(r, mask, dx);
  expect_close(as_vector(dx), numeric_gradient(x.data(), x.size(), loss), "dropout dx");
}

TEST(GradCheck, BidirectionalLstmLayer) {
  const int frames = 5, batch = 3, in = 4, hidden = 3;
  MatD x = random_mat(in, frames * batch, 15);
  std::vector<double> w_ih[2], w_hh[2], b_ih[2], b_hh[2];
  for (int d = 0; d < 2; ++d) {
    w_ih[d] = random_vector<double>(4 * hidden * in, 20 + d, -0.7, 0.7);
    w_hh[d] = random_vector<double>(4 * hidden * hidden, 22 + d, -0.7, 0.7);
    b_ih[d] = random_vector<double>(4 * hidden, 24 + d, -0.5, 0.5);
    b_hh[d] = random_vector<double>(4 * hidden, 26 + d, -0.5, 0.5);
  }
  const MatD r = random_mat(2 * hidden, frames * batch, 28);
  auto dirs = [&](LstmDirection<double> out[2]) {
    for (int d = 0; d < 2; ++d) out[d] = {w_ih[d].data(), w_hh[d].data(), b_ih[d].data(), b_hh[d].data()};
  };
  auto loss = [&] {
    LstmDirection<double> ds[2];
    dirs(ds);
    MatD y;
    LstmCache<double> cache;
    bilstm_layer_forward<double>(x, frames, batch, hidden, ds, y, cache);
    return contract(y, r);
  };
  LstmDirection<double> ds[2];
  dirs(ds);
  MatD y, dx;
  LstmCache<double> cache;
  bilstm_layer_forward<double>(x, frames, batch, hidden, ds, y, cache);
  std::vector<double> g_wih[2], g_whh[2], g_bih[2], g_bhh[2];
  LstmDirectionGrads<double> grads[2];
  for (int d = 0; d < 2; ++d) {
    g_wih[d].assign(w_ih[d].size(), 0.0);
    g_whh[d].assign(w_hh[d].size(), 0.0);
    g_bih[d].assign(b_ih[d].size(), 0.0);
    g_bhh[d].assign(b_hh[d].size(), 0.0);
    grads[d] = {g_wih[d].data(), g_whh[d].data(), g_bih[d].data(), g_bhh[d].data()};
  }
  bilstm_layer_backward<double>(r, x, y, frames, batch, hidden, ds, cache, grads, dx);
  expect_close(as_vector(dx), numeric_gradient(x.data(), x.size(), loss), "lstm dx");
  for (int d = 0; d < 2; ++d) {
    const char* tag = d ? " (reverse)" : "";
    expect_close(g_wih[d], numeric_gradient(w_ih[d].data(), w_ih[d].size(), loss), (std::string("lstm dW_ih") + tag).c_str());
    expect_close(g_whh[d], numeric_gradient(w_hh[d].data(), w_hh[d].size(), loss), (std::string("lstm dW_hh") + tag).c_str());
    expect_close(g_bih[d], numeric_gradient(b_ih[d].data(), b_ih[d].size(), loss), (std::string("lstm db_ih") + tag).c_str());
    expect_close(g_bhh[d], numeric_gradient(b_hh[d].data(), b_hh[d].size(), loss), (std::string("lstm db_hh") + tag).c_str());
  }
}

TEST(GradCheck, LstmForwardMatchesHandComputedStep) {
  // One frame, one unit, one input: h = o * tanh(i * g) with zero initial state.
  const MatD x = MatD::Constant(1, 1, 0.3);
  const std::vector<double> w_ih = {0.1, 0.2, 0.3, 0.4}, w_hh = {0, 0, 0, 0}, b_ih = {0.01, 0.02, 0.03, 0.04},
                            b_hh = {0, 0, 0, 0};
  LstmDirection<double> ds[2] = {{w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()},
                                 {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}};
  MatD y;
  LstmCache<double> cache;
  bilstm_layer_forward<double>(x, 1, 1, 1, ds, y, cache);
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  const double i = sig(0.1 * 0.3 + 0.01), g = std::tanh(0.3 * 0.3 + 0.03), o = sig(0.4 * 0.3 + 0.04);
  EXPECT_NEAR(y(0, 0), o * std::tanh(i * g), 1e-15);
  EXPECT_NEAR(y(1, 0), o * std::tanh(i * g), 1e-15);
}

TEST(GradCheck, InputNormalization) {
  const int n = 4, channels = 2, bins = 9, max_bin = 6;
  auto mix = random_vector<double>(n * channels * bins, 30, 0, 2);
  auto mean = random_vector<double>(max_bin, 31), scale = random_vector<double>(max_bin, 32, 0.5, 1.5);
  const MatD r = random_mat(channels * max_bin, n, 33);
  auto loss = [&] {
    MatD x;
    input_norm_forward<double>(mix.data(), n, channels, bins, max_bin, mean.data(), scale.data(), x);
    return contract(x, r);
  };
  std::vector<double> dm(max_bin, 0.0), ds(max_bin, 0.0), dmix(mix.size(), NAN);
  input_norm_backward<double>(r, mix.data(), channels, bins, max_bin, mean.data(), scale.data(), dm.data(), ds.data(),
                              dmix.data());
  expect_close(dm, numeric_gradient(mean.data(), mean.size(), loss), "input_mean");
  expect_close(ds, numeric_gradient(scale.data(), scale.size(), loss), "input_scale");
  expect_close(dmix, numeric_gradient(mix.data(), mix.size(), loss), "input mix");
}

TEST(GradCheck, OutputMask) {
  const int n = 5, channels = 2, bins = 7;
  MatD z = random_mat(channels * bins, n, 40, -2, 2);
  const auto mix = random_vector<double>(n * channels * bins, 41, 0, 2);
  auto scale = random_vector<double>(bins, 42, 0.5, 1.5), mean = random_vector<double>(bins, 43, -0.5, 0.5);
  const auto r = random_vector<double>(n * channels * bins, 44);
  auto loss = [&] {
    std::vector<double> out(mix.size());
    output_mask_forward<double>(z, mix.data(), channels, bins, scale.data(), mean.data(), out.data());
    double s = 0;
    for (std::size_t i = 0; i < out.size(); ++i) s += out[i] * r[i];
    return s;
  };
  MatD dz;
  std::vector<double> dscale(bins, 0.0), dmean(bins, 0.0);
  output_mask_backward<double>(r.data(), z, mix.data(), channels, bins, scale.data(), mean.data(), dz, dscale.data(),
                               dmean.data());
  expect_close(as_vector(dz), numeric_gradient(z.data(), z.size(), loss), "output dz");
  expect_close(dscale, numeric_gradient(scale.data(), scale.size(), loss), "output_scale");
  expect_close(dmean, numeric_gradient(mean.data(), mean.size(), loss), "output_mean");
}

TEST(GradCheck, MseLoss) {
  auto pred = random_vector<double>(23, 50), target = random_vector<double>(23, 51);
  std::vector<double> grad(pred.size());
  mse_loss_backward<double>(pred.data(), target.data(), pred.size(), 1.0, grad.data());
  auto loss = [&] { return mse_loss_forward<double>(pred.data(), target.data(), pred.size()); };
  expect_close(grad, numeric_gradient(pred.data(), pred.size(), loss), "mse prediction");
}
