#include "unmix/gpu/umx_gpu.h"

#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <string>

#include "library_check.h"
#include "lstm_cudnn.h"
#include "unmix/error.h"
#include "unmix/gpu/buffer.h"
#include "unmix/gpu/stft_gpu.h"
#include "unmix/gpu/umx_workspace.h"

namespace unmix::gpu {

namespace {

// Profiler ranges around every stage (visible in Nsight Systems).
struct Range {
  explicit Range(const char* name) { nvtxRangePushA(name); }
  ~Range() { nvtxRangePop(); }
};

// Column-major C[m, n] = alpha op(A) op(B) + beta C.
void gemm(cublasHandle_t h, bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc) {
  const float alpha = 1.f;
  UNMIX_CUBLAS(cublasSgemm(h, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k,
                           &alpha, a, lda, b, ldb, &beta, c, ldc));
}

// Linear layer without bias on [in, N] activations; W is PyTorch's row-major [out, in] = column-major [in, out].
void linear_forward(cublasHandle_t h, const float* w, int in, int out, const float* x, int n, float* y) {
  gemm(h, true, false, out, n, in, w, in, x, in, 0.f, y, out);
}
void linear_backward(cublasHandle_t h, const float* w, int in, int out, const float* x, const float* dy, int n,
                     float* dx, float* dw) {
  if (dx) gemm(h, false, false, in, n, out, w, in, dy, out, 0.f, dx, in);
  gemm(h, false, true, in, out, n, x, in, dy, out, 1.f, dw, in);
}

}  // namespace

struct UmxGpu::Impl {
  ModelConfig config;
  GpuOptions options;
  ParamTable table;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;

  DeviceBuffer<float> params, grads, exp_avg, exp_avg_sq;
  std::int64_t adam_step = 0;
  std::int64_t num_batches_tracked[3] = {0, 0, 0};
  float lstm_dropout = 0.f;
  std::uint64_t dropout_counter = 0;

  std::vector<std::unique_ptr<CudnnLstmLayer>> lstm;
  std::vector<DeviceBuffer<CopySegment>> to_space, to_flat;
  std::vector<std::int64_t> longest_segment;
  bool weights_dirty = true;

  // workspace for one (frames, batch) shape (see unmix/gpu/umx_workspace.h)
  int frames = 0, batch = 0;
  UmxWorkspace plan;
  DeviceBuffer<float> x_in, fc1_out, tanh_out, fc2_out, relu_out, fc3_out, bn3_out, mix_owned;
  std::vector<DeviceBuffer<float>> lstm_in, lstm_out, dropout_mask;
  DeviceBuffer<float> bn_mean[3], bn_inv_std[3];
  DeviceBuffer<float> d_big_a, d_big_b, d_h_a, d_h_b, d_tanh, d_lstm, d_lstm_in, d_x_in, coefficients;
  DeviceBuffer<double> partials, loss;
  DeviceBuffer<unsigned long long> non_finite;  // train_step's counts: [0] parameters, [1] gradients
  UmxGpu::NonFiniteCounts last_non_finite;
  DeviceBuffer<unsigned char> cudnn_workspace;
  DeviceBuffer<std::int32_t> seq_lengths;
  DeviceBuffer<Complex> mix_spectrum, target_spectrum;
  DeviceBuffer<float> target_magnitude, step_out, step_d_out;
  std::unique_ptr<GpuStft> stft;

  const float* mix = nullptr;  // magnitude of the last forward's input
  Mode mode = Mode::Eval;
  bool used_dropout = false;

  float* p(const char* name) { return params.data() + table.at(name).offset; }
  float* p(const std::string& name) { return params.data() + table.at(name).offset; }
  float* g(const std::string& name) { return grads.data() + table.at(name).offset; }

  int n() const { return frames * batch; }
  bool training() const { return options.purpose == Purpose::Training; }
  void require_training(const char* what) const {
    if (!training()) fail("gpu model", std::string(what) + " needs a model made for training (GpuOptions::purpose)");
  }

  // The loss into `loss` (on the device) and its gradient into d_out, queued on the stream without a wait.
  void queue_mse_loss(const float* out, const float* target, std::size_t count, float* d_out, float scale) {
    partials.reserve(std::max(partials.size(), mse_partials_size(count)));
    launch_mse_loss(out, target, count, partials.data(), loss.data(), stream);
    launch_mse_loss_backward(out, target, count, scale, d_out, stream);
  }

  // Where each activation lives: inference applies BatchNorm in place and alternates two LSTM outputs.
  float* tanh_activation() { return training() ? tanh_out.data() : fc1_out.data(); }
  float* relu_activation() { return training() ? relu_out.data() : fc2_out.data(); }
  float* bn3_activation() { return training() ? bn3_out.data() : fc3_out.data(); }
  float* lstm_output(int layer) { return lstm_out[static_cast<std::size_t>(training() ? layer : layer % 2)].data(); }

  void ensure_shape(int t, int b) {
    if (t == frames && b == batch) return;
    frames = t;
    batch = b;
    plan = plan_workspace(config, t, b, options.purpose);
    x_in.reserve(plan.x_in);
    fc1_out.reserve(plan.fc1_out);
    tanh_out.reserve(plan.tanh_out);
    fc2_out.reserve(plan.fc2_out);
    relu_out.reserve(plan.relu_out);
    fc3_out.reserve(plan.fc3_out);
    bn3_out.reserve(plan.bn3_out);
    lstm_out.resize(static_cast<std::size_t>(plan.lstm_out_buffers));
    for (auto& buffer : lstm_out) buffer.reserve(plan.lstm_out);
    // lstm_in[l] / dropout_mask[l] for layers l >= 1 (index 0 unused)
    lstm_in.resize(static_cast<std::size_t>(plan.lstm_in_buffers) + 1);
    dropout_mask.resize(lstm_in.size());
    for (std::size_t l = 1; l < lstm_in.size(); ++l) {
      lstm_in[l].reserve(plan.lstm_in);
      dropout_mask[l].reserve(plan.lstm_in);
    }
    d_big_a.reserve(plan.d_output_features);
    d_big_b.reserve(plan.d_output_features);
    for (auto* d : {&d_h_a, &d_h_b, &d_tanh, &d_lstm, &d_lstm_in}) d->reserve(plan.d_hidden);
    d_x_in.reserve(plan.d_x_in);
    partials.reserve(plan.reduction_partials);
    std::vector<std::int32_t> lengths(b, t);
    seq_lengths.upload(lengths, stream);
    std::size_t workspace = 0;
    for (auto& layer : lstm) {
      layer->set_shape(t, b, seq_lengths.data());
      workspace = std::max(workspace, layer->workspace_bytes());
    }
    cudnn_workspace.reserve(std::max<std::size_t>(workspace, 1));
  }

  void pack_lstm_weights() {
    if (!weights_dirty) return;
    for (std::size_t l = 0; l < lstm.size(); ++l)
      launch_copy_segments(params.data(), lstm[l]->weights(), to_space[l].data(), static_cast<int>(to_space[l].size()),
                           longest_segment[l], stream);
    weights_dirty = false;
  }

  void batchnorm_forward(int index, const float* x, int channels, Activation act, float* y) {
    const std::string bn = "bn" + std::to_string(index + 1);
    const cpu::BatchNormOptions opt;
    bn_mean[index].reserve(channels);
    bn_inv_std[index].reserve(channels);
    if (mode == Mode::Train) {
      launch_batchnorm_train_stats(x, channels, n(), opt.momentum, opt.eps, bn_mean[index].data(),
                                   bn_inv_std[index].data(), p(bn + ".running_mean"), p(bn + ".running_var"),
                                   partials.data(), stream);
      num_batches_tracked[index] += 1;
    } else {
      launch_batchnorm_eval_stats(p(bn + ".running_mean"), p(bn + ".running_var"), channels, opt.eps,
                                  bn_mean[index].data(), bn_inv_std[index].data(), stream);
    }
    launch_batchnorm_apply(x, channels, n(), bn_mean[index].data(), bn_inv_std[index].data(), p(bn + ".weight"),
                           p(bn + ".bias"), act, y, stream);
  }

  void batchnorm_backward(int index, const float* dy, const float* x, const float* y, int channels, Activation act,
                          float* dx) {
    const std::string bn = "bn" + std::to_string(index + 1);
    coefficients.reserve(3 * static_cast<std::size_t>(channels));
    launch_batchnorm_backward(dy, x, y, channels, n(), bn_mean[index].data(), bn_inv_std[index].data(),
                              p(bn + ".weight"), p(bn + ".bias"), act, mode == Mode::Train, dx, g(bn + ".weight"),
                              g(bn + ".bias"), partials.data(), coefficients.data(), stream);
  }

  void forward_core(float* out) {
    const int N = n(), H = config.hidden_size, C = config.nb_channels;
    pack_lstm_weights();
    float* tanh = tanh_activation();
    {
      Range r("fc1+bn1+tanh");
      linear_forward(cublas, p("fc1.weight"), config.input_features(), H, x_in.data(), N, fc1_out.data());
      batchnorm_forward(0, fc1_out.data(), H, Activation::Tanh, tanh);
    }
    used_dropout = mode == Mode::Train && lstm_dropout > 0.f;
    for (int l = 0; l < config.nb_layers; ++l) {
      Range r("lstm layer");
      const float* input = tanh;
      if (l > 0) {
        if (used_dropout) {
          launch_dropout_forward(lstm_output(l - 1), static_cast<std::size_t>(H) * N, lstm_dropout,
                                 options.dropout_seed ^ (0x9e3779b97f4a7c15ull * ++dropout_counter),
                                 dropout_mask[l].data(), lstm_in[l].data(), stream);
          input = lstm_in[l].data();
        } else {
          input = lstm_output(l - 1);
        }
      }
      lstm[l]->forward(mode == Mode::Train, input, lstm_output(l), cudnn_workspace.data());
    }
    {
      Range r("fc2+bn2+relu");
      // fc2 on cat([x, lstm(x)]) without materializing the concatenation: W2 = [W2_skip | W2_lstm].
      const float* w2 = p("fc2.weight");
      gemm(cublas, true, false, H, N, H, w2, 2 * H, tanh, H, 0.f, fc2_out.data(), H);
      gemm(cublas, true, false, H, N, H, w2 + H, 2 * H, lstm_output(config.nb_layers - 1), H, 1.f, fc2_out.data(), H);
      batchnorm_forward(1, fc2_out.data(), H, Activation::Relu, relu_activation());
    }
    {
      Range r("fc3+bn3+mask");
      linear_forward(cublas, p("fc3.weight"), H, config.output_features(), relu_activation(), N, fc3_out.data());
      batchnorm_forward(2, fc3_out.data(), config.output_features(), Activation::None, bn3_activation());
      launch_output_mask_forward(bn3_activation(), mix, N, C, config.nb_bins, p("output_scale"), p("output_mean"), out,
                                 stream);
    }
  }

  void backward(const float* d_out_ptr) {
    require_training("backward");
    if (!mix || mode != Mode::Train) fail("gpu model", "backward needs a training forward first");
    const int N = n(), H = config.hidden_size, C = config.nb_channels, out_f = config.output_features();
    {
      Range r("mask+bn3+fc3 backward");
      launch_output_mask_backward(d_out_ptr, bn3_out.data(), mix, N, C, config.nb_bins, p("output_scale"),
                                  p("output_mean"), d_big_a.data(), g("output_scale"), g("output_mean"),
                                  partials.data(), stream);
      batchnorm_backward(2, d_big_a.data(), fc3_out.data(), nullptr, out_f, Activation::None, d_big_b.data());
      linear_backward(cublas, p("fc3.weight"), H, out_f, relu_out.data(), d_big_b.data(), N, d_h_a.data(),
                      g("fc3.weight"));
    }
    {
      Range r("bn2+fc2 backward");
      batchnorm_backward(1, d_h_a.data(), fc2_out.data(), nullptr, H, Activation::Relu, d_h_b.data());
      const float* w2 = p("fc2.weight");
      float* dw2 = g("fc2.weight");
      gemm(cublas, false, false, H, N, H, w2, 2 * H, d_h_b.data(), H, 0.f, d_tanh.data(), H);
      gemm(cublas, false, false, H, N, H, w2 + H, 2 * H, d_h_b.data(), H, 0.f, d_lstm.data(), H);
      gemm(cublas, false, true, H, H, N, tanh_out.data(), H, d_h_b.data(), H, 1.f, dw2, 2 * H);
      gemm(cublas, false, true, H, H, N, lstm_output(config.nb_layers - 1), H, d_h_b.data(), H, 1.f, dw2 + H, 2 * H);
    }
    for (int l = config.nb_layers - 1; l >= 0; --l) {
      Range r("lstm layer backward");
      const float* input = l == 0 ? tanh_out.data() : (used_dropout ? lstm_in[l].data() : lstm_output(l - 1));
      lstm[l]->backward_data(lstm_output(l), d_lstm.data(), d_lstm_in.data(), cudnn_workspace.data());
      lstm[l]->backward_weights(input, lstm_output(l), cudnn_workspace.data());
      launch_copy_segments(lstm[l]->weight_grads(), grads.data(), to_flat[l].data(),
                           static_cast<int>(to_flat[l].size()), longest_segment[l], stream);
      if (l > 0) {
        if (used_dropout)
          launch_dropout_backward(d_lstm_in.data(), dropout_mask[l].data(), static_cast<std::size_t>(H) * N,
                                  d_lstm.data(), stream);
        else
          UNMIX_CUDA(cudaMemcpyAsync(d_lstm.data(), d_lstm_in.data(), static_cast<std::size_t>(H) * N * sizeof(float),
                                     cudaMemcpyDeviceToDevice, stream));
      } else {
        const float one = 1.f;
        UNMIX_CUBLAS(cublasSaxpy(cublas, H * N, &one, d_lstm_in.data(), 1, d_tanh.data(), 1));
      }
    }
    {
      Range r("bn1+fc1+input backward");
      batchnorm_backward(0, d_tanh.data(), fc1_out.data(), tanh_out.data(), H, Activation::Tanh, d_h_a.data());
      linear_backward(cublas, p("fc1.weight"), config.input_features(), H, x_in.data(), d_h_a.data(), N,
                      d_x_in.data(), g("fc1.weight"));
      launch_input_norm_backward(d_x_in.data(), mix, N, C, config.nb_bins, config.max_bin, p("input_mean"),
                                 p("input_scale"), g("input_mean"), g("input_scale"), partials.data(), stream);
    }
  }
};

UmxGpu::UmxGpu(const ModelConfig& config, const GpuOptions& options) : impl_(new Impl) {
  auto& m = *impl_;
  config.validate();
  m.config = config;
  m.options = options;
  m.table = ParamTable::for_umx(config);
  m.lstm_dropout = config.lstm_dropout;
  UNMIX_CUDA(cudaStreamCreateWithFlags(&m.stream, cudaStreamNonBlocking));
  UNMIX_CUBLAS(cublasCreate(&m.cublas));
  UNMIX_CUBLAS(cublasSetStream(m.cublas, m.stream));
  UNMIX_CUBLAS(cublasSetMathMode(m.cublas, cublas_math(options.tf32)));
  UNMIX_CUDNN(cudnnCreate(&m.cudnn));
  UNMIX_CUDNN(cudnnSetStream(m.cudnn, m.stream));
  m.params.reserve(m.table.total_size());
  if (m.training()) {
    m.grads.reserve(m.table.total_size());
    m.exp_avg.reserve(m.table.trainable_size());
    m.exp_avg_sq.reserve(m.table.trainable_size());
    m.grads.zero(m.stream);
    m.exp_avg.zero(m.stream);
    m.exp_avg_sq.zero(m.stream);
  }
  const auto algorithm = options.lstm_algorithm == 1   ? LstmAlgorithm::PersistStatic
                         : options.lstm_algorithm == 2 ? LstmAlgorithm::PersistDynamic
                                                       : LstmAlgorithm::Standard;
  for (int l = 0; l < config.nb_layers; ++l) {
    m.lstm.push_back(std::make_unique<CudnnLstmLayer>(m.cudnn, l, config.hidden_size, config.lstm_hidden(),
                                                      options.tf32, algorithm, m.training()));
    auto segments = m.lstm.back()->weight_segments(m.table);
    std::int64_t longest = 0;
    for (const auto& s : segments) longest = std::max(longest, s.count);
    m.longest_segment.push_back(longest);
    std::vector<CopySegment> back = segments;
    for (auto& s : back) std::swap(s.src, s.dst);
    m.to_space.emplace_back();
    m.to_space.back().upload(segments, m.stream);
    m.to_flat.emplace_back();
    m.to_flat.back().upload(back, m.stream);
  }
  m.loss.reserve(1);
  m.stft = std::make_unique<GpuStft>(config.nfft, config.nhop, m.stream);
  UmxWeights initial(config);
  upload(initial);
}

UmxGpu::~UmxGpu() {
  if (!impl_) return;
  impl_->lstm.clear();
  impl_->stft.reset();
  if (impl_->cudnn) cudnnDestroy(impl_->cudnn);
  if (impl_->cublas) cublasDestroy(impl_->cublas);
  if (impl_->stream) cudaStreamDestroy(impl_->stream);
}

const ModelConfig& UmxGpu::config() const { return impl_->config; }
const ParamTable& UmxGpu::table() const { return impl_->table; }
cudaStream_t UmxGpu::stream() const { return impl_->stream; }
float* UmxGpu::params() { return impl_->params.data(); }
float* UmxGpu::grads() { return impl_->grads.data(); }
const float* UmxGpu::mix_magnitude() const { return impl_->mix; }
void UmxGpu::set_lstm_dropout(float p) { impl_->lstm_dropout = p; }
std::int64_t UmxGpu::adam_steps() const { return impl_->adam_step; }

void UmxGpu::upload(const UmxWeights& weights) {
  if (weights.values.size() != impl_->table.total_size()) fail("gpu model", "weights do not match the model config");
  impl_->params.upload(weights.values, impl_->stream);
  std::copy(std::begin(weights.num_batches_tracked), std::end(weights.num_batches_tracked), impl_->num_batches_tracked);
  impl_->weights_dirty = true;
}

void UmxGpu::download(UmxWeights& weights) const {
  weights.values = impl_->params.download(impl_->stream);
  std::copy(std::begin(impl_->num_batches_tracked), std::end(impl_->num_batches_tracked), weights.num_batches_tracked);
}

void UmxGpu::forward(const float* mix, int frames, int batch, Mode mode, float* out) {
  auto& m = *impl_;
  if (mode == Mode::Train) m.require_training("a training forward");
  if (mode == Mode::Train && frames * batch < 2) fail("gpu model", "training needs frames * batch > 1 for BatchNorm");
  m.ensure_shape(frames, batch);
  m.mode = mode;
  m.mix = mix;
  launch_input_norm(mix, m.n(), m.config.nb_channels, m.config.nb_bins, m.config.max_bin, m.p("input_mean"),
                    m.p("input_scale"), m.x_in.data(), m.stream);
  m.forward_core(out);
}

void UmxGpu::forward_spectrum(const Complex* spectrum, int frames, int batch, Mode mode, float* out) {
  auto& m = *impl_;
  if (mode == Mode::Train) m.require_training("a training forward");
  if (mode == Mode::Train && frames * batch < 2) fail("gpu model", "training needs frames * batch > 1 for BatchNorm");
  m.ensure_shape(frames, batch);
  m.mode = mode;
  m.mix_owned.reserve(m.plan.mix_magnitude);
  launch_magnitude_input_norm(spectrum, batch, m.config.nb_channels, frames, m.config.nb_bins, m.config.max_bin,
                              m.p("input_mean"), m.p("input_scale"), m.mix_owned.data(), m.x_in.data(), m.stream);
  m.mix = m.mix_owned.data();
  m.forward_core(out);
}

void UmxGpu::zero_grads() {
  impl_->require_training("zero_grads");
  impl_->grads.zero(impl_->stream);
  for (auto& layer : impl_->lstm)
    UNMIX_CUDA(cudaMemsetAsync(layer->weight_grads(), 0, layer->weight_count() * sizeof(float), impl_->stream));
}

void UmxGpu::backward(const float* d_out) { impl_->backward(d_out); }

double UmxGpu::mse_loss(const float* out, const float* target, std::size_t count, float* d_out, float scale) {
  auto& m = *impl_;
  m.require_training("mse_loss");
  m.queue_mse_loss(out, target, count, d_out, scale);
  double loss = 0;
  UNMIX_CUDA(cudaMemcpyAsync(&loss, m.loss.data(), sizeof(double), cudaMemcpyDeviceToHost, m.stream));
  UNMIX_CUDA(cudaStreamSynchronize(m.stream));
  return loss;
}

void UmxGpu::adam_step(const cpu::AdamOptions& o) {
  auto& m = *impl_;
  m.require_training("adam_step");
  Range r("adam");
  m.adam_step += 1;
  launch_adam(m.params.data(), m.grads.data(), m.exp_avg.data(), m.exp_avg_sq.data(), m.table.trainable_size(),
              m.adam_step, o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, m.stream);
  m.weights_dirty = true;
}

double UmxGpu::train_step(const float* mix_audio, const float* target_audio, int batch, std::int64_t samples,
                          const cpu::AdamOptions& options, const DataParallelStep* parallel) {
  auto& m = *impl_;
  m.require_training("train_step");
  const int C = m.config.nb_channels, bins = m.config.nb_bins;
  const int frames = m.stft->frames(samples, false);
  const std::size_t spectrum_size = static_cast<std::size_t>(batch) * C * frames * bins;
  m.mix_spectrum.reserve(spectrum_size);
  m.target_spectrum.reserve(spectrum_size);
  m.target_magnitude.reserve(spectrum_size);
  m.step_out.reserve(spectrum_size);
  m.step_d_out.reserve(spectrum_size);
  {
    Range r("stft");
    m.stft->forward(mix_audio, batch * C, samples, false, m.mix_spectrum.data());
    m.stft->forward(target_audio, batch * C, samples, false, m.target_spectrum.data());
    launch_magnitude_input_norm(m.target_spectrum.data(), batch, C, frames, bins, m.config.max_bin, nullptr, nullptr,
                                m.target_magnitude.data(), nullptr, m.stream);
  }
  zero_grads();
  forward_spectrum(m.mix_spectrum.data(), frames, batch, Mode::Train, m.step_out.data());
  const float share = parallel ? parallel->loss_share : 1.f;
  // No wait here: the loss comes back at the end of the step, with the non-finite counts.
  m.queue_mse_loss(m.step_out.data(), m.target_magnitude.data(), spectrum_size, m.step_d_out.data(), share);
  backward(m.step_d_out.data());
  if (parallel && parallel->sum_gradients) {
    Range r("gradient all-reduce");
    parallel->sum_gradients(m.grads.data(), m.table.trainable_size(), m.stream);
  }
  adam_step(options);
  {
    // Read-only: what the step wrote, so a non-finite weight stops training at this step.
    Range r("non-finite check");
    m.non_finite.reserve(2);
    m.non_finite.zero(m.stream);
    launch_count_non_finite(m.params.data(), m.table.total_size(), m.non_finite.data(), m.stream);
    launch_count_non_finite(m.grads.data(), m.table.trainable_size(), m.non_finite.data() + 1, m.stream);
  }
  double device_loss = 0;
  unsigned long long counts[2] = {0, 0};
  UNMIX_CUDA(cudaMemcpyAsync(&device_loss, m.loss.data(), sizeof(double), cudaMemcpyDeviceToHost, m.stream));
  UNMIX_CUDA(cudaMemcpyAsync(counts, m.non_finite.data(), sizeof counts, cudaMemcpyDeviceToHost, m.stream));
  UNMIX_CUDA(cudaStreamSynchronize(m.stream));
  m.last_non_finite = {counts[0], counts[1]};
  return device_loss * share;
}

UmxGpu::NonFiniteCounts UmxGpu::last_step_non_finite() const { return impl_->last_non_finite; }

std::vector<float> UmxGpu::download_grads() const {
  impl_->require_training("download_grads");
  return impl_->grads.download(impl_->stream);
}

std::vector<float> UmxGpu::download_adam_moments(bool second) const {
  impl_->require_training("download_adam_moments");
  return (second ? impl_->exp_avg_sq : impl_->exp_avg).download(impl_->stream);
}

void UmxGpu::upload_adam_state(const std::vector<float>& exp_avg, const std::vector<float>& exp_avg_sq,
                               std::int64_t step) {
  auto& m = *impl_;
  m.require_training("upload_adam_state");
  if (exp_avg.size() != m.table.trainable_size() || exp_avg_sq.size() != m.table.trainable_size() || step < 0)
    fail("gpu model", "Adam state does not match the model config");
  m.exp_avg.upload(exp_avg, m.stream);
  m.exp_avg_sq.upload(exp_avg_sq, m.stream);
  m.adam_step = step;
}

std::uint64_t UmxGpu::dropout_draws() const { return impl_->dropout_counter; }
void UmxGpu::set_dropout_draws(std::uint64_t draws) { impl_->dropout_counter = draws; }

std::vector<float> UmxGpu::download_dropout_mask(int layer) const {
  impl_->require_training("download_dropout_mask");
  if (layer < 1 || layer >= impl_->config.nb_layers) fail("gpu model", "dropout masks exist for layers 1..L-1");
  return impl_->dropout_mask[layer].download(impl_->stream);
}

}  // namespace unmix::gpu
