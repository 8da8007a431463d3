// Host side of the GPU Wiener filter: uploads the mixture and target magnitudes, runs the stage kernels of
// kernels/wiener_em.cu (launchers in unmix/gpu/kernels.h), downloads the sources.
#include <cuda_runtime_api.h>

#include <complex>

#include "unmix/error.h"
#include "unmix/gpu/buffer.h"
#include "unmix/gpu/kernels.h"
#include "unmix/gpu/wiener.h"

namespace unmix::gpu {

static_assert(sizeof(std::complex<float>) == sizeof(Complex));

struct WienerGpu::Impl {
  int device = 0;
  cudaStream_t stream = nullptr;
  DeviceBuffer<Complex> mix, sources, covariance;
  DeviceBuffer<float> magnitudes, power;
  DeviceBuffer<unsigned int> peak;
  ~Impl() {
    if (stream) cudaStreamDestroy(stream);  // unchecked: may run while an error unwinds
  }
};

WienerGpu::WienerGpu(int device) : impl_(std::make_unique<Impl>()) {
  impl_->device = device;
  UNMIX_CUDA(cudaSetDevice(device));
  UNMIX_CUDA(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking));
}

WienerGpu::~WienerGpu() = default;

int WienerGpu::device() const { return impl_->device; }

std::vector<ComplexSpectrogram> WienerGpu::run(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes,
                                               const WienerOptions& options) {
  std::vector<ComplexSpectrogram> out;
  run(mix, magnitudes, options, out);
  return out;
}

void WienerGpu::run(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes, const WienerOptions& options,
                    std::vector<ComplexSpectrogram>& out, int leading_frames) {
  options.validate();
  if (mix.channels != 1 && mix.channels != 2)
    fail("wiener (gpu)", "the mixture must have 1 or 2 channels, got " + std::to_string(mix.channels));
  if (magnitudes.channels != 1 && magnitudes.channels != mix.channels)
    fail("wiener (gpu)", "target magnitudes have " + std::to_string(magnitudes.channels) +
                             " channels; expected 1 or the mixture's " + std::to_string(mix.channels));
  const int targets = static_cast<int>(magnitudes.targets.size());
  if (targets < 1) fail("wiener (gpu)", "no target magnitudes given");
  const int S = wiener_source_count(targets, options);
  shape_sources(mix, S, out, leading_frames);
  if (mix.frames == 0) return;

  auto& m = *impl_;
  UNMIX_CUDA(cudaSetDevice(m.device));
  const cudaStream_t stream = m.stream;
  WienerArgs a;
  a.channels = mix.channels;
  a.frames = mix.frames;
  a.bins = mix.bins;
  a.targets = targets;
  a.sources_count = S;
  a.magnitude_channels = magnitudes.channels;
  a.window = options.window_frames > 0 ? options.window_frames : mix.frames;
  a.windows = (mix.frames + a.window - 1) / a.window;
  a.softmask = options.softmask;
  a.residual = options.residual;
  a.scaled = options.iterations > 0;
  a.eps = static_cast<float>(options.eps);
  a.scale_factor = static_cast<float>(options.scale_factor);

  const std::size_t plane = static_cast<std::size_t>(mix.frames) * mix.bins;  // one channel's bins
  const std::size_t magnitude_block = plane * magnitudes.channels;
  m.mix.reserve(mix.data.size());
  m.magnitudes.reserve(magnitude_block * targets);
  m.sources.reserve(static_cast<std::size_t>(S) * mix.data.size());
  m.power.reserve(static_cast<std::size_t>(S) * plane);
  m.covariance.reserve(static_cast<std::size_t>(S) * a.windows * mix.bins * mix.channels * mix.channels);
  m.peak.reserve(static_cast<std::size_t>(a.windows));
  a.mix = m.mix.data();
  a.magnitudes = m.magnitudes.data();
  a.sources = m.sources.data();
  a.power = m.power.data();
  a.covariance = m.covariance.data();
  a.peak = m.peak.data();

  UNMIX_CUDA(cudaMemcpyAsync(m.mix.data(), mix.data.data(), m.mix.bytes(), cudaMemcpyHostToDevice, stream));
  for (int j = 0; j < targets; ++j)
    UNMIX_CUDA(cudaMemcpyAsync(m.magnitudes.data() + magnitude_block * j, magnitudes.targets[j],
                               magnitude_block * sizeof(float), cudaMemcpyHostToDevice, stream));
  // Poisoned (NaN) outputs and intermediates: anything a kernel fails to write shows up in the result.
  m.sources.poison(stream);
  m.power.poison(stream);
  m.peak.zero(stream);

  if (a.scaled) launch_wiener_peak(a, stream);
  launch_wiener_initial_estimates(a, stream);
  for (int it = 0; it < options.iterations; ++it) {
    launch_wiener_covariance(a, stream);
    launch_wiener_update(a, it + 1 == options.iterations, stream);
  }
  for (int j = 0; j < S; ++j)
    for (int c = 0; c < mix.channels; ++c)
      UNMIX_CUDA(cudaMemcpyAsync(out[j].frame(c, leading_frames), m.sources.data() + mix.data.size() * j + plane * c,
                                 plane * sizeof(Complex), cudaMemcpyDeviceToHost, stream));
  UNMIX_CUDA(cudaStreamSynchronize(stream));
}

}  // namespace unmix::gpu
