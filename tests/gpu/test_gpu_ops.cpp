// Every GPU kernel against its CPU twin on fresh random inputs of several shapes (odd sizes included),
// outputs poisoned first. Bounds: float32 elementwise and reduction ops <= 1e-5 relative; STFT <= 1e-5
// (cuFFT vs KISS FFT); the cuDNN BiLSTM <= 1e-4.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <complex>
#include <limits>

#include "../../src/gpu/library_check.h"
#include "../../src/gpu/lstm_cudnn.h"
#include "gpu_test_support.h"
#include "test_support.h"
#include "unmix/cpu/adam.h"
#include "unmix/cpu/layers.h"
#include "unmix/cpu/non_finite.h"
#include "unmix/gpu/kernels.h"
#include "unmix/gpu/stft_gpu.h"
#include "unmix/stft.h"

using namespace unmix;
using test::poisoned;
using test::random_vector;
using test::rel_error;
using test::to_device;

namespace {
// Every op test queues its copies, fills and launches on the legacy default stream, so they run in order.
const cudaStream_t kStream = nullptr;
constexpr double kFloatBound = 1e-5;
constexpr double kLstmBound = 1e-4;

std::vector<float> as_vector(const cpu::Mat<float>& m) { return {m.data(), m.data() + m.size()}; }
cpu::Mat<float> as_mat(const std::vector<float>& v, Eigen::Index rows, Eigen::Index cols) {
  return Eigen::Map<const cpu::Mat<float>>(v.data(), rows, cols);
}
void expect_close(const std::vector<float>& gpu, const std::vector<float>& cpu, double bound, const std::string& what) {
  const double err = rel_error(gpu, cpu);
  EXPECT_LE(err, bound) << what;
  std::printf("    %-44s rel. error %.2e\n", what.c_str(), err);
}
}  // namespace

TEST(GpuOps, StftForwardAndInverseMatchCpu) {
  UNMIX_REQUIRE_GPU();
  for (auto [signals, length] : {std::pair{1, std::int64_t{5000}}, std::pair{3, std::int64_t{44101}}}) {
    for (bool center : {false, true}) {
      const auto audio = random_vector<float>(static_cast<std::size_t>(signals) * length, 7 + length);
      Stft cpu_stft(4096, 1024);
      const auto ref = cpu_stft.forward(audio.data(), signals, length, center);
      gpu::GpuStft gpu_stft(4096, 1024, kStream);
      ASSERT_EQ(gpu_stft.frames(length, center), ref.frames);
      auto d_audio = to_device(audio, kStream);
      auto d_spec = poisoned<gpu::Complex>(ref.data.size(), kStream);
      gpu_stft.forward(d_audio.data(), signals, length, center, d_spec.data());
      const auto spec = d_spec.download(kStream);
      std::vector<float> ours, theirs;
      for (std::size_t i = 0; i < spec.size(); ++i) {
        ours.insert(ours.end(), {spec[i].re, spec[i].im});
        theirs.insert(theirs.end(), {ref.data[i].real(), ref.data[i].imag()});
      }
      expect_close(ours, theirs, kFloatBound, "stft signals " + std::to_string(signals) + (center ? " center" : ""));
      if (!center) continue;
      for (std::int64_t out_length : {length, length - 777, length + 1500}) {
        std::vector<float> cpu_back(static_cast<std::size_t>(signals) * out_length);
        cpu_stft.inverse(ref, true, out_length, cpu_back.data());
        auto d_back = poisoned<float>(cpu_back.size(), kStream);
        gpu_stft.inverse(d_spec.data(), signals, ref.frames, true, out_length, d_back.data());
        const auto back = d_back.download(kStream);
        // Where the window-square envelope is tiny (the last frame's fading edge) both sides divide float
        // FFT round-off by it, so they are compared loosely there, tightly everywhere else, and past the
        // last frame (zero padding) exactly.
        const auto& w = cpu_stft.window();
        const std::int64_t pad = 4096 / 2, hop = 1024;
        std::vector<float> env(static_cast<std::size_t>(out_length), 0.f);
        for (std::int64_t i = 0; i < out_length; ++i)
          for (int t = 0; t < ref.frames; ++t) {
            const std::int64_t k = i + pad - t * hop;
            if (k >= 0 && k < 4096) env[static_cast<std::size_t>(i)] += w[static_cast<std::size_t>(k)] * w[static_cast<std::size_t>(k)];
          }
        std::vector<float> good_gpu, good_cpu;
        float worst_edge = 0;
        for (int sgn = 0; sgn < signals; ++sgn)
          for (std::int64_t i = 0; i < out_length; ++i) {
            const std::size_t at = static_cast<std::size_t>(sgn * out_length + i);
            const float e = env[static_cast<std::size_t>(i)];
            if (e >= 1e-3f) {
              good_gpu.push_back(back[at]);
              good_cpu.push_back(cpu_back[at]);
            } else if (e > 0.f) {
              worst_edge = std::max(worst_edge, std::abs(back[at] - cpu_back[at]));
            } else {
              ASSERT_EQ(back[at], 0.f) << "zero padding at sample " << i;
              ASSERT_EQ(cpu_back[at], 0.f);
            }
          }
        expect_close(good_gpu, good_cpu, kFloatBound, "istft length " + std::to_string(out_length));
        EXPECT_LE(worst_edge, 0.05f) << "fading edge of the last frame";
      }
    }
  }
}

TEST(GpuOps, MagnitudeInputNormMatchesCpu) {
  UNMIX_REQUIRE_GPU();
  const int batch = 3, channels = 2, frames = 5, bins = 129, max_bin = 77;
  const auto re = random_vector<float>(static_cast<std::size_t>(batch) * channels * frames * bins, 1);
  const auto im = random_vector<float>(re.size(), 2);
  std::vector<gpu::Complex> spec(re.size());
  ComplexSpectrogram cpu_spec[3];
  for (std::size_t i = 0; i < re.size(); ++i) spec[i] = {re[i], im[i]};
  const auto mean = random_vector<float>(max_bin, 3), scale = random_vector<float>(max_bin, 4, 0.5, 2);
  // CPU: per batch item, magnitude into frame-major layout, then the input normalization.
  const int n = frames * batch;
  std::vector<float> mix(static_cast<std::size_t>(n) * channels * bins);
  for (int b = 0; b < batch; ++b) {
    ComplexSpectrogram s;
    s.channels = channels, s.frames = frames, s.bins = bins;
    s.data.resize(static_cast<std::size_t>(channels) * frames * bins);
    for (std::size_t i = 0; i < s.data.size(); ++i) {
      const std::size_t j = static_cast<std::size_t>(b) * s.data.size() + i;
      s.data[i] = {re[j], im[j]};
    }
    magnitude_frame_major(s, batch, b, mix.data());
  }
  cpu::Mat<float> x_ref;
  cpu::input_norm_forward<float>(mix.data(), n, channels, bins, max_bin, mean.data(), scale.data(), x_ref);
  auto d_spec = to_device(spec, kStream);
  auto d_mean = to_device(mean, kStream), d_scale = to_device(scale, kStream);
  auto d_mix = poisoned<float>(mix.size(), kStream);
  auto d_x = poisoned<float>(static_cast<std::size_t>(x_ref.size()), kStream);
  gpu::launch_magnitude_input_norm(d_spec.data(), batch, channels, frames, bins, max_bin, d_mean.data(), d_scale.data(),
                                   d_mix.data(), d_x.data(), kStream);
  expect_close(d_mix.download(kStream), mix, kFloatBound, "magnitude (frame-major)");
  expect_close(d_x.download(kStream), as_vector(x_ref), kFloatBound, "magnitude + crop + normalize");
  auto d_x2 = poisoned<float>(static_cast<std::size_t>(x_ref.size()), kStream);
  gpu::launch_input_norm(d_mix.data(), n, channels, bins, max_bin, d_mean.data(), d_scale.data(), d_x2.data(), kStream);
  expect_close(d_x2.download(kStream), as_vector(x_ref), kFloatBound, "input normalize from magnitudes");

  // backward
  const auto dx = random_vector<float>(static_cast<std::size_t>(x_ref.size()), 5);
  std::vector<float> dm(max_bin, 0.1f), ds(max_bin, -0.2f);
  auto d_dm = to_device(dm, kStream), d_ds = to_device(ds, kStream), d_dx = to_device(dx, kStream);
  cpu::input_norm_backward<float>(as_mat(dx, x_ref.rows(), x_ref.cols()), mix.data(), channels, bins, max_bin,
                                  mean.data(), scale.data(), dm.data(), ds.data(), nullptr);
  gpu::DeviceBuffer<double> partials(gpu::input_norm_partials_size(n, channels, max_bin));
  gpu::launch_input_norm_backward(d_dx.data(), d_mix.data(), n, channels, bins, max_bin, d_mean.data(), d_scale.data(),
                                  d_dm.data(), d_ds.data(), partials.data(), kStream);
  expect_close(d_dm.download(kStream), dm, kFloatBound, "input_mean gradient (accumulated)");
  expect_close(d_ds.download(kStream), ds, kFloatBound, "input_scale gradient (accumulated)");
}

TEST(GpuOps, BatchNormWithActivationsMatchesCpu) {
  UNMIX_REQUIRE_GPU();
  using gpu::Activation;
  for (auto [channels, n] : {std::pair{7, 3}, std::pair{512, 257}, std::pair{1025, 4080}}) {
    for (Activation act : {Activation::None, Activation::Tanh, Activation::Relu}) {
      for (bool training : {true, false}) {
        const std::string tag = "C " + std::to_string(channels) + " N " + std::to_string(n) + " act " +
                                std::to_string(static_cast<int>(act)) + (training ? " train" : " eval");
        const auto x = random_vector<float>(static_cast<std::size_t>(channels) * n, 11, -2, 3);
        const auto gamma = random_vector<float>(channels, 12, 0.5, 1.5), beta = random_vector<float>(channels, 13);
        auto rm = random_vector<float>(channels, 14), rv = random_vector<float>(channels, 15, 0.5, 2);
        auto d_x = to_device(x, kStream), d_gamma = to_device(gamma, kStream), d_beta = to_device(beta, kStream), d_rm = to_device(rm, kStream),
             d_rv = to_device(rv, kStream);
        const cpu::Mat<float> xm = as_mat(x, channels, n);
        cpu::Mat<float> bn_y, y_ref;
        cpu::BatchNormCache<float> cache;
        if (training)
          cpu::batchnorm_train_forward<float>(xm, gamma.data(), beta.data(), rm.data(), rv.data(), {}, bn_y, cache);
        else
          cpu::batchnorm_eval_forward<float>(xm, gamma.data(), beta.data(), rm.data(), rv.data(), {}, bn_y, cache);
        if (act == Activation::Tanh) cpu::tanh_forward<float>(bn_y, y_ref);
        else if (act == Activation::Relu) cpu::relu_forward<float>(bn_y, y_ref);
        else y_ref = bn_y;

        auto d_mean = poisoned<float>(channels, kStream), d_inv = poisoned<float>(channels, kStream);
        gpu::DeviceBuffer<double> partials(gpu::batchnorm_partials_size(channels, n));
        if (training)
          gpu::launch_batchnorm_train_stats(d_x.data(), channels, n, 0.1, 1e-5, d_mean.data(), d_inv.data(),
                                            d_rm.data(), d_rv.data(), partials.data(), kStream);
        else
          gpu::launch_batchnorm_eval_stats(d_rm.data(), d_rv.data(), channels, 1e-5, d_mean.data(), d_inv.data(),
                                           kStream);
        auto d_y = poisoned<float>(x.size(), kStream);
        gpu::launch_batchnorm_apply(d_x.data(), channels, n, d_mean.data(), d_inv.data(), d_gamma.data(),
                                    d_beta.data(), act, d_y.data(), kStream);
        const auto gpu_y = d_y.download(kStream);
        expect_close(gpu_y, as_vector(y_ref), kFloatBound, "bn forward " + tag);
        expect_close(d_rm.download(kStream), rm, kFloatBound, "bn running mean " + tag);
        expect_close(d_rv.download(kStream), rv, kFloatBound, "bn running var " + tag);

        // backward through the activation and BN
        const auto dy = random_vector<float>(x.size(), 16);
        const cpu::Mat<float> dym = as_mat(dy, channels, n);
        cpu::Mat<float> d_pre, dx_ref;
        if (act == Activation::Tanh) cpu::tanh_backward<float>(dym, y_ref, d_pre);
        // ReLU's mask from the GPU's own forward: a value within rounding of 0 may fall on either side
        // (the GPU fuses multiply-adds), and one flipped element would dominate the comparison.
        else if (act == Activation::Relu) cpu::relu_backward<float>(dym, as_mat(gpu_y, channels, n), d_pre);
        else d_pre = dym;
        std::vector<float> dg(channels, 0.3f), db(channels, -0.1f);
        auto d_dg = to_device(dg, kStream), d_db = to_device(db, kStream), d_dy = to_device(dy, kStream);
        if (training) cpu::batchnorm_train_backward<float>(d_pre, xm, gamma.data(), cache, dx_ref, dg.data(), db.data());
        else cpu::batchnorm_eval_backward<float>(d_pre, xm, gamma.data(), cache, dx_ref, dg.data(), db.data());
        auto d_dx = poisoned<float>(x.size(), kStream);
        gpu::DeviceBuffer<float> coefficients(3 * static_cast<std::size_t>(channels));
        gpu::launch_batchnorm_backward(d_dy.data(), d_x.data(), d_y.data(), channels, n, d_mean.data(), d_inv.data(),
                                       d_gamma.data(), d_beta.data(), act, training, d_dx.data(), d_dg.data(),
                                       d_db.data(), partials.data(), coefficients.data(), kStream);
        expect_close(d_dx.download(kStream), as_vector(dx_ref), kFloatBound, "bn backward dx " + tag);
        expect_close(d_dg.download(kStream), dg, kFloatBound, "bn backward dgamma " + tag);
        expect_close(d_db.download(kStream), db, kFloatBound, "bn backward dbeta " + tag);
      }
    }
  }
}

TEST(GpuOps, OutputMaskMatchesCpu) {
  UNMIX_REQUIRE_GPU();
  for (auto [n, channels, bins] : {std::tuple{3, 1, 17}, std::tuple{257, 2, 2049}}) {
    const std::size_t count = static_cast<std::size_t>(n) * channels * bins;
    const auto z = random_vector<float>(count, 21, -2, 2), mix = random_vector<float>(count, 22, 0, 3);
    const auto scale = random_vector<float>(bins, 23, 0.5, 1.5), mean = random_vector<float>(bins, 24, -0.5, 0.5);
    std::vector<float> out_ref(count);
    const cpu::Mat<float> zm = as_mat(z, static_cast<Eigen::Index>(channels) * bins, n);
    cpu::output_mask_forward<float>(zm, mix.data(), channels, bins, scale.data(), mean.data(), out_ref.data());
    auto d_z = to_device(z, kStream), d_mix = to_device(mix, kStream), d_scale = to_device(scale, kStream), d_mean = to_device(mean, kStream);
    auto d_out = poisoned<float>(count, kStream);
    gpu::launch_output_mask_forward(d_z.data(), d_mix.data(), n, channels, bins, d_scale.data(), d_mean.data(),
                                    d_out.data(), kStream);
    expect_close(d_out.download(kStream), out_ref, kFloatBound, "output mask forward bins " + std::to_string(bins));
    const auto d_o = random_vector<float>(count, 25);
    std::vector<float> ds(bins, 0.f), dm(bins, 0.f);
    cpu::Mat<float> dz_ref;
    cpu::output_mask_backward<float>(d_o.data(), zm, mix.data(), channels, bins, scale.data(), mean.data(), dz_ref,
                                     ds.data(), dm.data());
    auto dd_o = to_device(d_o, kStream), d_dz = poisoned<float>(count, kStream);
    gpu::DeviceBuffer<float> d_ds(bins), d_dm(bins);
    d_ds.zero(kStream);
    d_dm.zero(kStream);
    gpu::DeviceBuffer<double> partials(gpu::output_mask_partials_size(n, channels, bins));
    gpu::launch_output_mask_backward(dd_o.data(), d_z.data(), d_mix.data(), n, channels, bins, d_scale.data(),
                                     d_mean.data(), d_dz.data(), d_ds.data(), d_dm.data(), partials.data(), kStream);
    expect_close(d_dz.download(kStream), as_vector(dz_ref), kFloatBound, "output mask dz");
    expect_close(d_ds.download(kStream), ds, kFloatBound, "output_scale gradient");
    expect_close(d_dm.download(kStream), dm, kFloatBound, "output_mean gradient");
  }
}

TEST(GpuOps, MseLossMatchesCpu) {
  UNMIX_REQUIRE_GPU();
  for (std::size_t count : {std::size_t{1}, std::size_t{1000003}}) {
    const auto a = random_vector<float>(count, 31), b = random_vector<float>(count, 32);
    auto d_a = to_device(a, kStream), d_b = to_device(b, kStream);
    gpu::DeviceBuffer<double> partials(gpu::mse_partials_size(count)), loss(1);
    gpu::launch_mse_loss(d_a.data(), d_b.data(), count, partials.data(), loss.data(), kStream);
    const double ref = cpu::mse_loss_forward<float>(a.data(), b.data(), count);
    EXPECT_NEAR(loss.download(kStream)[0], ref, 1e-9 * ref);
    std::vector<float> grad_ref(count);
    cpu::mse_loss_backward<float>(a.data(), b.data(), count, 1.f, grad_ref.data());
    auto d_grad = poisoned<float>(count, kStream);
    gpu::launch_mse_loss_backward(d_a.data(), d_b.data(), count, 1.f, d_grad.data(), kStream);
    expect_close(d_grad.download(kStream), grad_ref, kFloatBound, "mse gradient");
    // deterministic: a second run gives the identical bits
    gpu::DeviceBuffer<double> loss2(1);
    gpu::launch_mse_loss(d_a.data(), d_b.data(), count, partials.data(), loss2.data(), kStream);
    EXPECT_EQ(loss.download(kStream)[0], loss2.download(kStream)[0]);
  }
}

TEST(GpuOps, DropoutMaskStatisticsAndBackward) {
  UNMIX_REQUIRE_GPU();
  const std::size_t count = 1 << 20;
  const float p = 0.4f;
  const auto x = random_vector<float>(count, 41);
  auto d_x = to_device(x, kStream);
  auto d_mask = poisoned<float>(count, kStream), d_y = poisoned<float>(count, kStream);
  gpu::launch_dropout_forward(d_x.data(), count, p, 1234, d_mask.data(), d_y.data(), kStream);
  const auto mask = d_mask.download(kStream), y = d_y.download(kStream);
  double kept = 0;
  for (std::size_t i = 0; i < count; ++i) {
    ASSERT_TRUE(mask[i] == 0.f || mask[i] == 1.f / (1.f - p));
    ASSERT_EQ(y[i], x[i] * mask[i]);
    kept += mask[i] != 0.f;
  }
  EXPECT_NEAR(kept / count, 1 - p, 6 * std::sqrt(p * (1 - p) / count));
  const auto dy = random_vector<float>(count, 42);
  auto d_dy = to_device(dy, kStream), d_dx = poisoned<float>(count, kStream);
  gpu::launch_dropout_backward(d_dy.data(), d_mask.data(), count, d_dx.data(), kStream);
  cpu::Mat<float> dx_ref;
  cpu::dropout_backward<float>(as_mat(dy, 1, static_cast<Eigen::Index>(count)), as_mat(mask, 1, static_cast<Eigen::Index>(count)), dx_ref);
  expect_close(d_dx.download(kStream), as_vector(dx_ref), 0.0, "dropout backward");
  // same seed, same mask; another seed, another mask
  auto d_mask2 = poisoned<float>(count, kStream);
  gpu::launch_dropout_forward(d_x.data(), count, p, 1234, d_mask2.data(), d_y.data(), kStream);
  EXPECT_EQ(d_mask2.download(kStream), mask);
  gpu::launch_dropout_forward(d_x.data(), count, p, 1235, d_mask2.data(), d_y.data(), kStream);
  EXPECT_NE(d_mask2.download(kStream), mask);
}

TEST(GpuOps, AdamMatchesCpu) {
  UNMIX_REQUIRE_GPU();
  const std::size_t count = 100003;
  auto params = random_vector<float>(count, 51);
  auto d_params = to_device(params, kStream);
  gpu::DeviceBuffer<float> m(count), v(count);
  m.zero(kStream);
  v.zero(kStream);
  cpu::AdamOptions o;
  o.lr = 1e-3;
  o.weight_decay = 1e-2;
  cpu::AdamState state;
  state.reset(count);
  for (int step = 1; step <= 5; ++step) {
    const auto grads = random_vector<float>(count, 60 + step);
    auto d_grads = to_device(grads, kStream);
    cpu::adam_step(params, grads, state, o);
    gpu::launch_adam(d_params.data(), d_grads.data(), m.data(), v.data(), count, step, o.lr, o.beta1, o.beta2, o.eps,
                     o.weight_decay, kStream);
  }
  expect_close(d_params.download(kStream), params, kFloatBound, "adam params after 5 steps");
  expect_close(m.download(kStream), state.exp_avg, kFloatBound, "adam first moment");
  expect_close(v.download(kStream), state.exp_avg_sq, kFloatBound, "adam second moment");
}

TEST(GpuOps, CountNonFiniteMatchesCpu) {
  UNMIX_REQUIRE_GPU();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::uint64_t seed = 81;
  // sizes: empty, below one block, odd, and more than the grid covers in one pass
  for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{255}, std::size_t{100003},
                            std::size_t{3000017}}) {
    auto values = random_vector<float>(count, seed++, -1e30, 1e30);
    // planted: NaN (quiet and signalling-pattern), both infinities, and the largest finite float left alone
    for (std::size_t i = 0; i < count; i += 997) values[i] = (i / 997) % 3 == 0 ? nan : (i / 997) % 3 == 1 ? inf : -inf;
    if (count > 10) {
      values[count - 1] = std::bit_cast<float>(0x7f800001u);  // NaN with the smallest mantissa
      values[count - 2] = std::numeric_limits<float>::max();
      values[count - 3] = std::numeric_limits<float>::denorm_min();
    }
    const std::size_t expected = cpu::count_non_finite(values.data(), count);
    auto d_values = to_device(values, kStream);
    gpu::DeviceBuffer<unsigned long long> counter(1);
    counter.zero(kStream);
    gpu::launch_count_non_finite(d_values.data(), count, counter.data(), kStream);
    gpu::launch_count_non_finite(d_values.data(), count, counter.data(), kStream);  // adds on
    EXPECT_EQ(counter.download(kStream)[0], 2 * expected) << count << " values";
    EXPECT_EQ(expected, count == 0 ? 0 : (count + 996) / 997 + (count > 10 ? 1 : 0)) << count << " values";
  }
}

TEST(GpuOps, CopySegmentsRoundTrip) {
  UNMIX_REQUIRE_GPU();
  const auto src = random_vector<float>(1000, 71);
  const std::vector<gpu::CopySegment> segments = {{0, 500, 100}, {100, 0, 257}, {900, 300, 100}};
  auto d_src = to_device(src, kStream);
  auto d_segments = to_device(segments, kStream);
  gpu::DeviceBuffer<float> d_dst(1000);
  d_dst.zero(kStream);
  gpu::launch_copy_segments(d_src.data(), d_dst.data(), d_segments.data(), 3, 257, kStream);
  const auto dst = d_dst.download(kStream);
  for (const auto& s : segments)
    for (std::int64_t i = 0; i < s.count; ++i) ASSERT_EQ(dst[s.dst + i], src[s.src + i]);
  EXPECT_EQ(dst[450], 0.f);  // untouched
}

TEST(GpuOps, CudnnBiLstmLayerMatchesCpu) {
  UNMIX_REQUIRE_GPU();
  cudnnHandle_t handle;
  UNMIX_CUDNN(cudnnCreate(&handle));
  for (auto [frames, batch, hidden] : {std::tuple{7, 3, 8}, std::tuple{64, 16, 256}}) {
    const int input = 2 * hidden;
    ModelConfig c;  // a table with one LSTM layer's names at the right sizes
    c.hidden_size = 2 * hidden;
    c.nb_layers = 1;
    c.nfft = 64, c.nhop = 16, c.nb_bins = 33, c.max_bin = 20;
    UmxWeights w(c);
    w.init_synthetic(81);
    gpu::CudnnLstmLayer layer(handle, 0, input, hidden, false, gpu::LstmAlgorithm::Standard);
    auto segments = layer.weight_segments(w.table);
    auto d_params = to_device(w.values, kStream);
    auto d_segments = to_device(segments, kStream);
    gpu::launch_copy_segments(d_params.data(), layer.weights(), d_segments.data(), static_cast<int>(segments.size()),
                              static_cast<std::int64_t>(input) * hidden, kStream);
    gpu::DeviceBuffer<std::int32_t> lengths;
    lengths.upload(std::vector<std::int32_t>(batch, frames), kStream);
    layer.set_shape(frames, batch, lengths.data());
    gpu::DeviceBuffer<unsigned char> workspace(std::max<std::size_t>(layer.workspace_bytes(), 1));
    const int n = frames * batch;
    const auto x = random_vector<float>(static_cast<std::size_t>(input) * n, 82);
    auto d_x = to_device(x, kStream), d_y = poisoned<float>(static_cast<std::size_t>(2 * hidden) * n, kStream);
    layer.forward(true, d_x.data(), d_y.data(), workspace.data());
    cpu::LstmDirection<float> dirs[2];
    for (int d = 0; d < 2; ++d) {
      const std::string s = std::string("_l0") + (d ? "_reverse" : "");
      dirs[d] = {w["lstm.weight_ih" + s].data(), w["lstm.weight_hh" + s].data(), w["lstm.bias_ih" + s].data(),
                 w["lstm.bias_hh" + s].data()};
    }
    cpu::Mat<float> y_ref;
    cpu::LstmCache<float> cache;
    const cpu::Mat<float> xm = as_mat(x, input, n);
    cpu::bilstm_layer_forward<float>(xm, frames, batch, hidden, dirs, y_ref, cache);
    const std::string tag = "T " + std::to_string(frames) + " B " + std::to_string(batch) + " H " + std::to_string(hidden);
    expect_close(d_y.download(kStream), as_vector(y_ref), kLstmBound, "lstm forward " + tag);

    const auto dy = random_vector<float>(static_cast<std::size_t>(2 * hidden) * n, 83);
    auto d_dy = to_device(dy, kStream), d_dx = poisoned<float>(x.size(), kStream);
    UNMIX_CUDA(cudaMemsetAsync(layer.weight_grads(), 0, layer.weight_count() * sizeof(float), kStream));
    layer.backward_data(d_y.data(), d_dy.data(), d_dx.data(), workspace.data());
    layer.backward_weights(d_x.data(), d_y.data(), workspace.data());
    std::vector<float> grads(w.table.total_size(), 0.f);
    cpu::LstmDirectionGrads<float> dgrads[2];
    for (int d = 0; d < 2; ++d) {
      const std::string s = std::string("_l0") + (d ? "_reverse" : "");
      auto at = [&](const std::string& name) { return grads.data() + w.table.at(name).offset; };
      dgrads[d] = {at("lstm.weight_ih" + s), at("lstm.weight_hh" + s), at("lstm.bias_ih" + s), at("lstm.bias_hh" + s)};
    }
    cpu::Mat<float> dx_ref;
    cpu::bilstm_layer_backward<float>(as_mat(dy, 2 * hidden, n), xm, y_ref, frames, batch, hidden, dirs, cache, dgrads,
                                      dx_ref);
    expect_close(d_dx.download(kStream), as_vector(dx_ref), kLstmBound, "lstm backward dx " + tag);
    std::vector<gpu::CopySegment> back = segments;
    for (auto& s : back) std::swap(s.src, s.dst);
    auto d_back = to_device(back, kStream);
    gpu::DeviceBuffer<float> d_grads(w.table.total_size());
    d_grads.zero(kStream);
    gpu::launch_copy_segments(layer.weight_grads(), d_grads.data(), d_back.data(), static_cast<int>(back.size()),
                              static_cast<std::int64_t>(input) * hidden, kStream);
    const auto got = d_grads.download(kStream);
    for (const auto& e : w.table.entries()) {
      if (!e.name.starts_with("lstm.")) continue;
      const std::vector<float> a(got.begin() + static_cast<std::ptrdiff_t>(e.offset),
                                 got.begin() + static_cast<std::ptrdiff_t>(e.offset + e.numel()));
      const std::vector<float> b(grads.begin() + static_cast<std::ptrdiff_t>(e.offset),
                                 grads.begin() + static_cast<std::ptrdiff_t>(e.offset + e.numel()));
      expect_close(a, b, kLstmBound, "lstm grad " + e.name + " " + tag);
    }
  }
  cudnnDestroy(handle);
}
