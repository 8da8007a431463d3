// Host side of the GPU Wiener filter: uploads the mixture and target magnitudes, runs the kernels of
// kernels/wiener_em.cu, downloads the sources.
#include "unmix/gpu/wiener.h"

#include <cuda_runtime.h>


#include "wiener_gpu.h"

namespace unmix::gpu {

using wiener_detail::KernelArgs;

namespace {

// Device memory that only grows; contents are not kept when it does.
template <typename T>
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    if (ptr_) cudaFree(ptr_);  // unchecked: may run while an error unwinds
  }
  T* get(std::size_t count) {
    if (count > capacity_) {
      if (ptr_) UNMIX_WIENER_CUDA(cudaFree(ptr_));
      ptr_ = nullptr;
      capacity_ = 0;
      UNMIX_WIENER_CUDA(cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
      capacity_ = count;
    }
    return ptr_;
  }

 private:
  T* ptr_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace

struct WienerGpu::Impl {
  int device = 0;
  cudaStream_t stream = nullptr;
  Scratch<float2> mix, sources, covariance;
  Scratch<float> magnitudes, power;
  Scratch<unsigned int> peak;
  ~Impl() {
    if (stream) cudaStreamDestroy(stream);
  }
};

WienerGpu::WienerGpu(int device) : impl_(std::make_unique<Impl>()) {
  impl_->device = device;
  UNMIX_WIENER_CUDA(cudaSetDevice(device));
  UNMIX_WIENER_CUDA(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking));
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

  UNMIX_WIENER_CUDA(cudaSetDevice(impl_->device));
  cudaStream_t stream = impl_->stream;
  KernelArgs a;
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
  float2* d_mix = impl_->mix.get(mix.data.size());
  float* d_magnitudes = impl_->magnitudes.get(magnitude_block * targets);
  float2* d_sources = impl_->sources.get(static_cast<std::size_t>(S) * mix.data.size());
  float* d_power = impl_->power.get(static_cast<std::size_t>(S) * plane);
  float2* d_covariance =
      impl_->covariance.get(static_cast<std::size_t>(S) * a.windows * mix.bins * mix.channels * mix.channels);
  unsigned int* d_peak = impl_->peak.get(static_cast<std::size_t>(a.windows));
  a.mix = d_mix;
  a.magnitudes = d_magnitudes;
  a.sources = d_sources;
  a.power = d_power;
  a.covariance = d_covariance;
  a.peak = d_peak;

  static_assert(sizeof(std::complex<float>) == sizeof(float2));
  UNMIX_WIENER_CUDA(cudaMemcpyAsync(d_mix, mix.data.data(), mix.data.size() * sizeof(float2), cudaMemcpyHostToDevice, stream));
  for (int j = 0; j < targets; ++j)
    UNMIX_WIENER_CUDA(cudaMemcpyAsync(d_magnitudes + magnitude_block * j, magnitudes.targets[j],
                                      magnitude_block * sizeof(float), cudaMemcpyHostToDevice, stream));
  // Poisoned (NaN) outputs and intermediates: anything a kernel fails to write shows up in the result.
  UNMIX_WIENER_CUDA(cudaMemsetAsync(d_sources, 0xFF, static_cast<std::size_t>(S) * mix.data.size() * sizeof(float2), stream));
  UNMIX_WIENER_CUDA(cudaMemsetAsync(d_power, 0xFF, static_cast<std::size_t>(S) * plane * sizeof(float), stream));
  UNMIX_WIENER_CUDA(cudaMemsetAsync(d_peak, 0, static_cast<std::size_t>(a.windows) * sizeof(unsigned int), stream));

  if (a.scaled) wiener_detail::launch_peak(a, stream);
  wiener_detail::launch_initial_estimates(a, stream);
  for (int it = 0; it < options.iterations; ++it) {
    wiener_detail::launch_covariance(a, stream);
    wiener_detail::launch_update(a, it + 1 == options.iterations, stream);
  }
  for (int j = 0; j < S; ++j)
    for (int c = 0; c < mix.channels; ++c)
      UNMIX_WIENER_CUDA(cudaMemcpyAsync(out[j].frame(c, leading_frames), d_sources + mix.data.size() * j + plane * c,
                                        plane * sizeof(float2), cudaMemcpyDeviceToHost, stream));
  UNMIX_WIENER_CUDA(cudaStreamSynchronize(stream));
}

}  // namespace unmix::gpu
