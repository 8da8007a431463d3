// Open-Unmix forward and backward on the CPU, composed from the reference layers in src/cpu/.
#include "unmix/umx_cpu.h"

#include <algorithm>
#include <string>

#include "unmix/error.h"

namespace unmix {

using cpu::Mat;

namespace {
std::string lstm_name(const char* what, int layer, int direction) {
  return std::string("lstm.") + what + "_l" + std::to_string(layer) + (direction ? "_reverse" : "");
}
}  // namespace

UmxCpu::UmxCpu(UmxWeights& weights, std::uint64_t dropout_seed)
    : w_(weights), rng_(dropout_seed), dropout_(weights.config.lstm_dropout) {}

void UmxCpu::forward(const float* mix, int frames, int batch, Mode mode, float* out) {
  const ModelConfig& c = w_.config;
  if (frames < 1 || batch < 1) fail("model", "empty input");
  if (mode == Mode::Train && frames * batch < 2) fail("model", "training needs frames * batch > 1 for BatchNorm");
  frames_ = frames;
  batch_ = batch;
  mode_ = mode;
  mix_ = mix;
  const int n = frames * batch;
  const cpu::BatchNormOptions bn_opt;
  const cpu::SumAcross* across = mode == Mode::Train && shard_.active() ? &shard_.sum_doubles : nullptr;
  if (across && (shard_.offset < 0 || shard_.offset + batch > shard_.global_batch))
    fail("model", "the shard lies outside its global batch");
  auto bn_forward = [&](int index, const Mat<float>& x, Mat<float>& y) {
    const std::string bn = "bn" + std::to_string(index + 1);
    if (mode == Mode::Train) {
      cpu::batchnorm_train_forward<float>(x, w_[bn + ".weight"].data(), w_[bn + ".bias"].data(),
                                          w_[bn + ".running_mean"].data(), w_[bn + ".running_var"].data(), bn_opt, y,
                                          bn_cache_[index], across);
      w_.num_batches_tracked[index] += 1;
    } else {
      cpu::batchnorm_eval_forward<float>(x, w_[bn + ".weight"].data(), w_[bn + ".bias"].data(),
                                         w_[bn + ".running_mean"].data(), w_[bn + ".running_var"].data(), bn_opt, y,
                                         bn_cache_[index]);
    }
  };

  cpu::input_norm_forward<float>(mix, n, c.nb_channels, c.nb_bins, c.max_bin, w_["input_mean"].data(),
                                 w_["input_scale"].data(), x_in_);
  cpu::linear_forward<float>(x_in_, w_["fc1.weight"].data(), c.hidden_size, fc1_out_);
  bn_forward(0, fc1_out_, bn1_out_);
  cpu::tanh_forward<float>(bn1_out_, tanh_out_);

  lstm_in_.resize(c.nb_layers);
  lstm_out_.resize(c.nb_layers);
  lstm_cache_.resize(c.nb_layers);
  dropout_mask_.resize(c.nb_layers);
  const bool use_dropout = mode == Mode::Train && dropout_ > 0.f;
  for (int layer = 0; layer < c.nb_layers; ++layer) {
    // torch.nn.LSTM applies dropout to every layer's output except the last one.
    if (layer == 0) {
      lstm_in_[0] = tanh_out_;
    } else if (use_dropout && across) {
      cpu::dropout_forward_shard<float>(lstm_out_[layer - 1], dropout_, rng_, batch, shard_.offset,
                                        shard_.global_batch, dropout_mask_[layer], lstm_in_[layer]);
    } else if (use_dropout) {
      cpu::dropout_forward<float>(lstm_out_[layer - 1], dropout_, rng_, dropout_mask_[layer], lstm_in_[layer]);
    } else {
      lstm_in_[layer] = lstm_out_[layer - 1];
    }
    cpu::LstmDirection<float> dirs[2];
    for (int d = 0; d < 2; ++d)
      dirs[d] = {w_[lstm_name("weight_ih", layer, d)].data(), w_[lstm_name("weight_hh", layer, d)].data(),
                 w_[lstm_name("bias_ih", layer, d)].data(), w_[lstm_name("bias_hh", layer, d)].data()};
    cpu::bilstm_layer_forward<float>(lstm_in_[layer], frames, batch, c.lstm_hidden(), dirs, lstm_out_[layer],
                                     lstm_cache_[layer]);
  }

  // skip connection: cat([x, lstm(x)], feature axis)
  concat_.resize(2 * c.hidden_size, n);
  concat_.topRows(c.hidden_size) = tanh_out_;
  concat_.bottomRows(c.hidden_size) = lstm_out_.back();
  cpu::linear_forward<float>(concat_, w_["fc2.weight"].data(), c.hidden_size, fc2_out_);
  bn_forward(1, fc2_out_, bn2_out_);
  cpu::relu_forward<float>(bn2_out_, relu_out_);
  cpu::linear_forward<float>(relu_out_, w_["fc3.weight"].data(), c.output_features(), fc3_out_);
  bn_forward(2, fc3_out_, bn3_out_);
  cpu::output_mask_forward<float>(bn3_out_, mix, c.nb_channels, c.nb_bins, w_["output_scale"].data(),
                                  w_["output_mean"].data(), out);
}

void UmxCpu::backward(const float* d_out, std::span<float> grads, float* d_mix) {
  const ModelConfig& c = w_.config;
  if (!mix_) fail("model", "backward called before forward");
  if (grads.size() != w_.table.total_size()) fail("model", "gradient buffer does not match the parameter table");
  auto g = [&](std::string_view name) {
    const auto& e = w_.table.at(name);
    return grads.data() + e.offset;
  };
  const cpu::SumAcross* across = mode_ == Mode::Train && shard_.active() ? &shard_.sum_doubles : nullptr;
  auto bn_backward = [&](int index, const Mat<float>& dy, const Mat<float>& x, Mat<float>& dx) {
    const std::string bn = "bn" + std::to_string(index + 1);
    if (mode_ == Mode::Train)
      cpu::batchnorm_train_backward<float>(dy, x, w_[bn + ".weight"].data(), bn_cache_[index], dx, g(bn + ".weight"),
                                           g(bn + ".bias"), across);
    else
      cpu::batchnorm_eval_backward<float>(dy, x, w_[bn + ".weight"].data(), bn_cache_[index], dx, g(bn + ".weight"),
                                          g(bn + ".bias"));
  };

  Mat<float>& d_a = d_a_;
  Mat<float>& d_b = d_b_;
  cpu::output_mask_backward<float>(d_out, bn3_out_, mix_, c.nb_channels, c.nb_bins, w_["output_scale"].data(),
                                   w_["output_mean"].data(), d_a, g("output_scale"), g("output_mean"));
  bn_backward(2, d_a, fc3_out_, d_b);
  cpu::linear_backward<float>(d_b, relu_out_, w_["fc3.weight"].data(), c.output_features(), &d_a, g("fc3.weight"));
  cpu::relu_backward<float>(d_a, bn2_out_, d_b);
  bn_backward(1, d_b, fc2_out_, d_a);
  Mat<float>& d_concat = d_concat_;
  cpu::linear_backward<float>(d_a, concat_, w_["fc2.weight"].data(), c.hidden_size, &d_concat, g("fc2.weight"));

  Mat<float>& d_lstm = d_lstm_;
  d_lstm = d_concat.bottomRows(c.hidden_size);
  for (int layer = c.nb_layers - 1; layer >= 0; --layer) {
    cpu::LstmDirection<float> dirs[2];
    cpu::LstmDirectionGrads<float> dgrads[2];
    for (int d = 0; d < 2; ++d) {
      dirs[d] = {w_[lstm_name("weight_ih", layer, d)].data(), w_[lstm_name("weight_hh", layer, d)].data(),
                 w_[lstm_name("bias_ih", layer, d)].data(), w_[lstm_name("bias_hh", layer, d)].data()};
      dgrads[d] = {g(lstm_name("weight_ih", layer, d)), g(lstm_name("weight_hh", layer, d)),
                   g(lstm_name("bias_ih", layer, d)), g(lstm_name("bias_hh", layer, d))};
    }
    Mat<float>& d_in = d_in_;
    cpu::bilstm_layer_backward<float>(d_lstm, lstm_in_[layer], lstm_out_[layer], frames_, batch_, c.lstm_hidden(), dirs,
                                      lstm_cache_[layer], dgrads, d_in);
    if (layer > 0 && dropout_mask_[layer].size() == d_in.size() && mode_ == Mode::Train && dropout_ > 0.f)
      cpu::dropout_backward<float>(d_in, dropout_mask_[layer], d_lstm);
    else
      d_lstm.swap(d_in);
  }
  Mat<float>& d_tanh = d_tanh_;
  d_tanh = d_concat.topRows(c.hidden_size) + d_lstm;
  cpu::tanh_backward<float>(d_tanh, tanh_out_, d_a);
  bn_backward(0, d_a, fc1_out_, d_b);
  cpu::linear_backward<float>(d_b, x_in_, w_["fc1.weight"].data(), c.hidden_size, &d_a, g("fc1.weight"));
  cpu::input_norm_backward<float>(d_a, mix_, c.nb_channels, c.nb_bins, c.max_bin, w_["input_mean"].data(),
                                  w_["input_scale"].data(), g("input_mean"), g("input_scale"), d_mix);
}

double train_step(UmxCpu& model, const float* mix, const float* target, int frames, int batch,
                  std::vector<float>& grads, cpu::AdamState& adam, const cpu::AdamOptions& options,
                  std::vector<float>& scratch_out) {
  UmxWeights& w = model.weights();
  const std::size_t count =
      static_cast<std::size_t>(frames) * batch * w.config.nb_channels * static_cast<std::size_t>(w.config.nb_bins);
  scratch_out.resize(2 * count);
  float* out = scratch_out.data();
  float* d_out = scratch_out.data() + count;
  grads.assign(w.table.total_size(), 0.f);
  model.forward(mix, frames, batch, Mode::Train, out);
  const BatchShard& shard = model.shard();
  // The loss is a mean over the global batch: this shard's share of it is its mean times batch / global.
  const double share = shard.active() ? static_cast<double>(batch) / shard.global_batch : 1.0;
  double loss = cpu::mse_loss_forward<float>(out, target, count) * share;
  cpu::mse_loss_backward<float>(out, target, count, static_cast<float>(share), d_out);
  model.backward(d_out, grads);
  const std::size_t trainable = w.table.trainable_size();
  if (shard.active()) {  // one sum per step over the flat gradient buffer, then every process takes the same step
    shard.sum_floats(std::span<float>(grads.data(), trainable));
    shard.sum_doubles(std::span<double>(&loss, 1));
  }
  if (adam.exp_avg.size() != trainable) adam.reset(trainable);
  cpu::adam_step(std::span<float>(w.values.data(), trainable), std::span<const float>(grads.data(), trainable), adam,
                 options);
  return loss;
}

void to_frame_major(const float* bcft, int batch, int channels, int bins, int frames, float* tbcf) {
  for (int b = 0; b < batch; ++b)
    for (int ch = 0; ch < channels; ++ch)
      for (int f = 0; f < bins; ++f) {
        const float* src = bcft + ((static_cast<std::size_t>(b) * channels + ch) * bins + f) * frames;
        for (int t = 0; t < frames; ++t)
          tbcf[((static_cast<std::size_t>(t) * batch + b) * channels + ch) * bins + f] = src[t];
      }
}

void from_frame_major(const float* tbcf, int batch, int channels, int bins, int frames, float* bcft) {
  for (int b = 0; b < batch; ++b)
    for (int ch = 0; ch < channels; ++ch)
      for (int f = 0; f < bins; ++f) {
        float* dst = bcft + ((static_cast<std::size_t>(b) * channels + ch) * bins + f) * frames;
        for (int t = 0; t < frames; ++t)
          dst[t] = tbcf[((static_cast<std::size_t>(t) * batch + b) * channels + ch) * bins + f];
      }
}

}  // namespace unmix
