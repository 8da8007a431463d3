// GPU benchmarks: every kernel with bytes (GB/s) or FLOP counters, the STFT, the Wiener stages, and the whole
// training step at openunmix's defaults (batch 16 x 6 s stereo, hidden 512), plus inference on a 3-minute
// track. Timed with CUDA events on the stream the work runs on (manual time). Memory-bound kernels also
// report `of_copy`: their GB/s over a device-to-device cudaMemcpy's, measured in the same run (the
// practical floor). Without a GPU every benchmark reports why and skips.
#include <benchmark/benchmark.h>

#include <functional>

#include "unmix/gpu/buffer.h"
#include "unmix/gpu/device.h"
#include "unmix/gpu/kernels.h"
#include "unmix/gpu/stft_gpu.h"
#include "unmix/gpu/umx_gpu.h"

using namespace unmix;
using namespace unmix::gpu;

namespace {

constexpr int kRate = 44100;

bool skip_without_gpu(benchmark::State& state) {
  static const DeviceReport report = query_devices();
  if (!report.available()) {
    state.SkipWithError(("no GPU: " + report.reason).c_str());
    return true;
  }
  return false;
}

// Runs `body` once per iteration between CUDA events on `stream`, the stream body's work is queued on.
void timed(benchmark::State& state, cudaStream_t stream, const std::function<void()>& body) {
  cudaEvent_t start, stop;
  UNMIX_CUDA(cudaEventCreate(&start));
  UNMIX_CUDA(cudaEventCreate(&stop));
  body();  // warm-up (plans, allocations)
  UNMIX_CUDA(cudaDeviceSynchronize());
  for (auto _ : state) {
    UNMIX_CUDA(cudaEventRecord(start, stream));
    body();
    UNMIX_CUDA(cudaEventRecord(stop, stream));
    UNMIX_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    UNMIX_CUDA(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

// Benchmarks here queue everything on the legacy default stream unless a model brings its own.
const cudaStream_t kStream = nullptr;

// GB/s of a device-to-device copy of 1 GiB (read + write counted), measured once per run.
double copy_gb_per_s() {
  static const double rate = [] {
    const std::size_t bytes = std::size_t{1} << 30;
    DeviceBuffer<unsigned char> a(bytes), b(bytes);
    a.zero(kStream);
    cudaEvent_t start, stop;
    UNMIX_CUDA(cudaEventCreate(&start));
    UNMIX_CUDA(cudaEventCreate(&stop));
    UNMIX_CUDA(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, kStream));  // warm-up
    UNMIX_CUDA(cudaEventRecord(start, kStream));
    constexpr int kRepeats = 10;
    for (int i = 0; i < kRepeats; ++i)
      UNMIX_CUDA(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, kStream));
    UNMIX_CUDA(cudaEventRecord(stop, kStream));
    UNMIX_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    UNMIX_CUDA(cudaEventElapsedTime(&ms, start, stop));
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return 2.0 * bytes * kRepeats / (ms / 1e3) / 1e9;
  }();
  return rate;
}

void bytes_counter(benchmark::State& state, double bytes) {
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  // the same rate over the copy's: GB/s is bytes / 1e9 per second, so divide the per-iteration bytes
  state.counters["of_copy"] =
      benchmark::Counter(bytes / 1e9 / copy_gb_per_s(), benchmark::Counter::kIsIterationInvariantRate);
}

DeviceBuffer<float> filled(std::size_t n, float value) {
  DeviceBuffer<float> b(n);
  std::vector<float> host(n, value);
  b.upload(host, kStream);
  return b;
}

void BM_DeviceCopy(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const std::size_t bytes = std::size_t{1} << 30;
  DeviceBuffer<unsigned char> a(bytes), b(bytes);
  a.zero(kStream);
  timed(state, kStream, [&] {
    UNMIX_CUDA(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, kStream));
  });
  bytes_counter(state, 2.0 * static_cast<double>(bytes));
}
BENCHMARK(BM_DeviceCopy)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Training-step shapes: 16 excerpts of 6 s stereo -> 255 frames each, N = 4080 columns.
constexpr int kBatch = 16;
constexpr int kFrames = 255;
constexpr int kN = kBatch * kFrames;

void BM_StftForward(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const std::int64_t samples = 6 * kRate;
  const int signals = kBatch * 2;
  GpuStft stft(4096, 1024, kStream);
  const int frames = stft.frames(samples, false);
  auto audio = filled(static_cast<std::size_t>(signals) * samples, 0.1f);
  DeviceBuffer<Complex> spec(static_cast<std::size_t>(signals) * frames * stft.bins());
  timed(state, kStream, [&] { stft.forward(audio.data(), signals, samples, false, spec.data()); });
  bytes_counter(state, 4.0 * signals * static_cast<double>(samples) + 2.0 * 4 * signals * frames * 4096 + 8.0 * static_cast<double>(spec.size()));
}
BENCHMARK(BM_StftForward)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_Istft(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const std::int64_t samples = 180 * kRate;  // a 3-minute stereo track
  GpuStft stft(4096, 1024, kStream);
  const int frames = stft.frames(samples, true);
  DeviceBuffer<Complex> spec(static_cast<std::size_t>(2) * frames * stft.bins());
  spec.zero(kStream);
  auto audio = filled(2 * static_cast<std::size_t>(samples), 0.f);
  timed(state, kStream, [&] { stft.inverse(spec.data(), 2, frames, true, samples, audio.data()); });
  bytes_counter(state, 2.0 * 8 * static_cast<double>(spec.size()) + 2.0 * 4 * 2 * frames * 4096 + 4.0 * 2 * static_cast<double>(samples));
}
BENCHMARK(BM_Istft)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_MagnitudeInputNorm(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int bins = 2049, max_bin = 1487;
  DeviceBuffer<Complex> spec(static_cast<std::size_t>(kBatch) * 2 * kFrames * bins);
  spec.zero(kStream);
  auto mean = filled(max_bin, 0.f), scale = filled(max_bin, 1.f);
  DeviceBuffer<float> mix(spec.size()), x(static_cast<std::size_t>(kN) * 2 * max_bin);
  timed(state, kStream, [&] {
    launch_magnitude_input_norm(spec.data(), kBatch, 2, kFrames, bins, max_bin, mean.data(), scale.data(), mix.data(),
                                x.data(), kStream);
  });
  bytes_counter(state, 8.0 * static_cast<double>(spec.size()) + 4.0 * static_cast<double>(mix.size()) + 4.0 * static_cast<double>(x.size()));
}
BENCHMARK(BM_MagnitudeInputNorm)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_BatchNormTrainForward(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int channels = static_cast<int>(state.range(0));
  const std::size_t count = static_cast<std::size_t>(channels) * kN;
  auto x = filled(count, 0.5f), gamma = filled(channels, 1.f), beta = filled(channels, 0.f);
  auto rm = filled(channels, 0.f), rv = filled(channels, 1.f);
  DeviceBuffer<float> mean(channels), inv(channels), y(count);
  DeviceBuffer<double> partials(batchnorm_partials_size(channels, kN));
  timed(state, kStream, [&] {
    launch_batchnorm_train_stats(x.data(), channels, kN, 0.1, 1e-5, mean.data(), inv.data(), rm.data(), rv.data(),
                                 partials.data(), kStream);
    launch_batchnorm_apply(x.data(), channels, kN, mean.data(), inv.data(), gamma.data(), beta.data(),
                           Activation::Tanh, y.data(), kStream);
  });
  bytes_counter(state, 4.0 * static_cast<double>(count) * 4);  // two statistics passes, the apply's read and write
}
BENCHMARK(BM_BatchNormTrainForward)->Arg(512)->Arg(4098)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_BatchNormBackward(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int channels = static_cast<int>(state.range(0));
  const std::size_t count = static_cast<std::size_t>(channels) * kN;
  auto x = filled(count, 0.5f), dy = filled(count, 0.1f), y = filled(count, 0.3f);
  auto gamma = filled(channels, 1.f), beta = filled(channels, 0.f), mean = filled(channels, 0.f),
       inv = filled(channels, 1.f);
  DeviceBuffer<float> dx(count), dg(channels), db(channels), coefficients(3 * static_cast<std::size_t>(channels));
  DeviceBuffer<double> partials(batchnorm_partials_size(channels, kN));
  timed(state, kStream, [&] {
    launch_batchnorm_backward(dy.data(), x.data(), y.data(), channels, kN, mean.data(), inv.data(), gamma.data(),
                              beta.data(), Activation::Tanh, true, dx.data(), dg.data(), db.data(), partials.data(),
                              coefficients.data(), kStream);
  });
  bytes_counter(state, 4.0 * static_cast<double>(count) * 7);  // reduce: dy, x, y; input grad: dy, x, y, dx
}
BENCHMARK(BM_BatchNormBackward)->Arg(512)->Arg(4098)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_OutputMask(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int bins = 2049;
  const std::size_t count = static_cast<std::size_t>(kN) * 2 * bins;
  auto z = filled(count, 0.5f), mix = filled(count, 1.f), scale = filled(bins, 1.f), mean = filled(bins, 0.f);
  DeviceBuffer<float> out(count);
  timed(state, kStream, [&] {
    launch_output_mask_forward(z.data(), mix.data(), kN, 2, bins, scale.data(), mean.data(), out.data(), kStream);
  });
  bytes_counter(state, 12.0 * static_cast<double>(count));
}
BENCHMARK(BM_OutputMask)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_OutputMaskBackward(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int bins = 2049;
  const std::size_t count = static_cast<std::size_t>(kN) * 2 * bins;
  auto z = filled(count, 0.5f), mix = filled(count, 1.f), d_out = filled(count, 0.1f), scale = filled(bins, 1.f),
       mean = filled(bins, 0.f);
  DeviceBuffer<float> dz(count), ds(bins), dm(bins);
  DeviceBuffer<double> partials(output_mask_partials_size(kN, 2, bins));
  timed(state, kStream, [&] {
    launch_output_mask_backward(d_out.data(), z.data(), mix.data(), kN, 2, bins, scale.data(), mean.data(), dz.data(),
                                ds.data(), dm.data(), partials.data(), kStream);
  });
  bytes_counter(state, 4.0 * static_cast<double>(count) * 7);
}
BENCHMARK(BM_OutputMaskBackward)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_MseLoss(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const std::size_t count = static_cast<std::size_t>(kN) * 2 * 2049;
  auto a = filled(count, 0.5f), b = filled(count, 0.25f);
  DeviceBuffer<float> grad(count);
  DeviceBuffer<double> partials(mse_partials_size(count)), loss(1);
  timed(state, kStream, [&] {
    launch_mse_loss(a.data(), b.data(), count, partials.data(), loss.data(), kStream);
    launch_mse_loss_backward(a.data(), b.data(), count, 1.f, grad.data(), kStream);
  });
  bytes_counter(state, 4.0 * static_cast<double>(count) * 5);
}
BENCHMARK(BM_MseLoss)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_Dropout(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const std::size_t count = static_cast<std::size_t>(kN) * 512;
  auto x = filled(count, 1.f);
  DeviceBuffer<float> mask(count), y(count);
  timed(state, kStream, [&] { launch_dropout_forward(x.data(), count, 0.4f, 7, mask.data(), y.data(), kStream); });
  bytes_counter(state, 12.0 * static_cast<double>(count));
}
BENCHMARK(BM_Dropout)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_Adam(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const std::size_t count = ParamTable::for_umx(ModelConfig{}).trainable_size();
  auto p = filled(count, 0.1f), g = filled(count, 0.01f), m = filled(count, 0.f), v = filled(count, 0.f);
  std::int64_t step = 0;
  timed(state, kStream, [&] {
    launch_adam(p.data(), g.data(), m.data(), v.data(), count, ++step, 1e-3, 0.9, 0.999, 1e-8, 1e-5, kStream);
  });
  bytes_counter(state, 4.0 * static_cast<double>(count) * 7);
}
BENCHMARK(BM_Adam)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Multiply-adds x2 of one forward column of the default model.
double forward_flop_per_column(const ModelConfig& c) {
  const double H = c.hidden_size, Hl = c.lstm_hidden();
  return 2.0 * H * c.input_features() + c.nb_layers * 2 * 2.0 * 4 * Hl * (H + Hl) + 2.0 * H * 2 * H +
         2.0 * c.output_features() * H;
}

void BM_TrainStep(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  ModelConfig config;
  GpuOptions options;
  options.tf32 = state.range(0) != 0;
  UmxGpu model(config, options);
  UmxWeights w(config);
  w.init_random(1);
  model.upload(w);
  const std::int64_t samples = 6 * kRate;
  auto mix = filled(static_cast<std::size_t>(kBatch) * 2 * samples, 0.1f);
  auto target = filled(mix.size(), 0.05f);
  cpu::AdamOptions adam;
  cudaEvent_t start, stop;
  UNMIX_CUDA(cudaEventCreate(&start));
  UNMIX_CUDA(cudaEventCreate(&stop));
  model.train_step(mix.data(), target.data(), kBatch, samples, adam);  // warm-up
  for (auto _ : state) {
    UNMIX_CUDA(cudaEventRecord(start, model.stream()));
    benchmark::DoNotOptimize(model.train_step(mix.data(), target.data(), kBatch, samples, adam));
    UNMIX_CUDA(cudaEventRecord(stop, model.stream()));
    UNMIX_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    UNMIX_CUDA(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3);
  }
  state.counters["steps/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["samples/s"] = benchmark::Counter(kBatch, benchmark::Counter::kIsIterationInvariantRate);
  // forward + backward ~ 3x the forward's matrix FLOP
  state.counters["TFLOP/s"] =
      benchmark::Counter(3 * kN * forward_flop_per_column(config) / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}
BENCHMARK(BM_TrainStep)->Arg(0)->Arg(1)->ArgName("tf32")->UseManualTime()->Unit(benchmark::kMillisecond);

// The separator's model: inference purpose, the whole 3-minute track as one sequence.
void BM_InferenceForward3Min(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  ModelConfig config;
  GpuOptions options;
  options.purpose = Purpose::Inference;
  options.tf32 = state.range(0) != 0;
  UmxGpu model(config, options);
  UmxWeights w(config);
  w.init_synthetic(2);
  model.upload(w);
  const std::int64_t samples = 180 * kRate;
  GpuStft stft(config.nfft, config.nhop, model.stream());
  const int frames = stft.frames(samples, true);
  DeviceBuffer<float> audio(2 * static_cast<std::size_t>(samples));
  audio.zero(model.stream());
  DeviceBuffer<Complex> spec(static_cast<std::size_t>(2) * frames * config.nb_bins);
  DeviceBuffer<float> out(spec.size());
  timed(state, model.stream(), [&] {
    stft.forward(audio.data(), 2, samples, true, spec.data());
    model.forward_spectrum(spec.data(), frames, 1, Mode::Eval, out.data());
  });
  state.counters["realtime_x"] = benchmark::Counter(180, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["TFLOP/s"] = benchmark::Counter(frames * forward_flop_per_column(config) / 1e12,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_InferenceForward3Min)->Arg(0)->Arg(1)->ArgName("tf32")->UseManualTime()->Unit(benchmark::kMillisecond);

// The Wiener stages on a 3-minute stereo track (7752 frames, 2049 bins, 300-frame windows), guitar +
// residual: bytes are each kernel's compulsory reads and writes.
struct WienerBench {
  static constexpr int kFrames = 180 * kRate / 1024 + 1, kBins = 2049, kChannels = 2, kSources = 2;
  DeviceBuffer<Complex> mix, sources, covariance;
  DeviceBuffer<float> magnitudes, power;
  DeviceBuffer<unsigned int> peak;
  WienerArgs args;
  WienerBench() {
    const std::size_t plane = static_cast<std::size_t>(kFrames) * kBins;
    args.channels = kChannels;
    args.frames = kFrames;
    args.bins = kBins;
    args.targets = 1;
    args.sources_count = kSources;
    args.magnitude_channels = kChannels;
    args.window = 300;
    args.windows = (kFrames + 299) / 300;
    args.residual = true;
    args.scaled = true;
    mix.reserve(kChannels * plane);
    magnitudes.reserve(kChannels * plane);
    sources.reserve(kSources * kChannels * plane);
    power.reserve(kSources * plane);
    covariance.reserve(static_cast<std::size_t>(kSources) * args.windows * kBins * kChannels * kChannels);
    peak.reserve(static_cast<std::size_t>(args.windows));
    for (auto* b : {&mix, &sources, &covariance}) b->zero(kStream);
    for (auto* b : {&magnitudes, &power}) b->zero(kStream);
    peak.zero(kStream);
    args.mix = mix.data();
    args.magnitudes = magnitudes.data();
    args.sources = sources.data();
    args.power = power.data();
    args.covariance = covariance.data();
    args.peak = peak.data();
  }
  static double plane_bytes(double per_element) { return per_element * kFrames * static_cast<double>(kBins); }
};

void BM_WienerPeak(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  WienerBench b;
  timed(state, kStream, [&] { launch_wiener_peak(b.args, kStream); });
  bytes_counter(state, WienerBench::plane_bytes(8.0 * WienerBench::kChannels));
}
BENCHMARK(BM_WienerPeak)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_WienerInitialEstimates(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  WienerBench b;
  timed(state, kStream, [&] { launch_wiener_initial_estimates(b.args, kStream); });
  // mix and magnitudes in, both sources out
  bytes_counter(state, WienerBench::plane_bytes(WienerBench::kChannels * (8.0 + 4.0 + 8.0 * WienerBench::kSources)));
}
BENCHMARK(BM_WienerInitialEstimates)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_WienerCovariance(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  WienerBench b;
  timed(state, kStream, [&] { launch_wiener_covariance(b.args, kStream); });
  // the sources in, their power out (the covariances are 1/300 of that)
  bytes_counter(state, WienerBench::plane_bytes(WienerBench::kSources * (8.0 * WienerBench::kChannels + 4.0)));
}
BENCHMARK(BM_WienerCovariance)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_WienerUpdate(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  WienerBench b;
  timed(state, kStream, [&] { launch_wiener_update(b.args, true, kStream); });
  // mix and power in, sources out (covariances are read from cache-sized blocks)
  bytes_counter(state, WienerBench::plane_bytes(8.0 * WienerBench::kChannels + WienerBench::kSources *
                                                                                    (4.0 + 8.0 * WienerBench::kChannels)));
}
BENCHMARK(BM_WienerUpdate)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
