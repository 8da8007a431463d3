#include "unmix/stft.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "pocketfft_hdronly.h"
#include "unmix/error.h"

namespace unmix {

namespace {

// Frames transformed per pocketfft call: enough to fill its SIMD lanes many times over, few enough that the
// scratch stays in cache (64 frames of 4096 floats: 1 MB). Every call transforms all 64 (unused ones are
// zeros): pocketfft runs whole groups of SIMD lanes one way and a remainder another, with different
// rounding, so a frame's bits would otherwise depend on its place in the call, and a signal processed in
// chunks would not equal the same signal processed whole. 64 is a multiple of every lane count.
constexpr int kFramesPerCall = 64;

}  // namespace

// pocketfft caches its plans internally (thread-safe), so an Stft holds only its sizes and window.
Stft::Stft(int n_fft, int n_hop) : n_fft_(n_fft), n_hop_(n_hop), window_(n_fft) {
  if (n_fft < 2 || n_fft % 2 != 0 || n_hop < 1 || n_hop > n_fft) fail("stft", "need an even n_fft and 0 < hop <= n_fft");
  // torch.hann_window(n_fft) (periodic): 0.5 - 0.5 cos(2 pi n / N)
  for (int i = 0; i < n_fft; ++i)
    window_[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / n_fft));
}

Stft::~Stft() = default;

int Stft::frames(std::int64_t length, bool center) const {
  const std::int64_t padded = center ? length + n_fft_ : length;
  if (padded < n_fft_) return 0;
  return static_cast<int>(1 + (padded - n_fft_) / n_hop_);
}

std::int64_t Stft::default_length(int frames, bool center) const {
  const std::int64_t full = static_cast<std::int64_t>(n_fft_) + static_cast<std::int64_t>(n_hop_) * (frames - 1);
  return center ? full - n_fft_ : full;
}

ComplexSpectrogram Stft::forward(const float* planar, int channels, std::int64_t length, bool center) const {
  const int pad = center ? n_fft_ / 2 : 0;
  if (center && length <= pad)
    fail("stft", "signal of " + std::to_string(length) + " samples is too short for reflect padding (needs > " +
                     std::to_string(pad) + ")");
  if (!center && length < n_fft_)
    fail("stft", "signal of " + std::to_string(length) + " samples is shorter than n_fft " + std::to_string(n_fft_));
  ComplexSpectrogram spec;
  spec.channels = channels;
  spec.frames = frames(length, center);
  spec.bins = bins();
  spec.data.resize(static_cast<std::size_t>(channels) * spec.frames * spec.bins);
  // Jobs of up to kFramesPerCall frames of one channel: window them into a block, then one batched real FFT
  // writes their bins straight into the spectrogram (frames are contiguous rows of `bins`).
  const int blocks_per_channel = (spec.frames + kFramesPerCall - 1) / kFramesPerCall;
  const int jobs = channels * blocks_per_channel;
  const pocketfft::stride_t in_stride{static_cast<std::ptrdiff_t>(n_fft_ * sizeof(float)), sizeof(float)};
  const pocketfft::stride_t out_stride{static_cast<std::ptrdiff_t>(spec.bins * sizeof(std::complex<float>)),
                                       sizeof(std::complex<float>)};
#pragma omp parallel
  {
    std::vector<float> block(static_cast<std::size_t>(kFramesPerCall) * n_fft_);
    std::vector<std::complex<float>> bins_out(static_cast<std::size_t>(kFramesPerCall) * spec.bins);
#pragma omp for schedule(static)
    for (int job = 0; job < jobs; ++job) {
      const int c = job / blocks_per_channel;
      const int t0 = (job % blocks_per_channel) * kFramesPerCall;
      const int count = std::min(kFramesPerCall, spec.frames - t0);
      const float* x = planar + static_cast<std::size_t>(c) * length;
      for (int f = 0; f < count; ++f) {
        float* segment = block.data() + static_cast<std::size_t>(f) * n_fft_;
        const std::int64_t start = static_cast<std::int64_t>(t0 + f) * n_hop_ - pad;
        if (start >= 0 && start + n_fft_ <= length) {
          for (int i = 0; i < n_fft_; ++i) segment[i] = x[start + i] * window_[i];  // inside: no padding
          continue;
        }
        for (int i = 0; i < n_fft_; ++i) {
          std::int64_t k = start + i;
          // reflect padding (no edge repeat): x[-k] for k < 0, x[2(L-1) - k] past the end
          if (k < 0) k = -k;
          if (k >= length) k = 2 * (length - 1) - k;
          segment[i] = x[k] * window_[i];
        }
      }
      std::fill(block.begin() + static_cast<std::ptrdiff_t>(count) * n_fft_, block.end(), 0.f);
      pocketfft::r2c<float>({static_cast<std::size_t>(kFramesPerCall), static_cast<std::size_t>(n_fft_)}, in_stride,
                            out_stride, 1, pocketfft::FORWARD, block.data(), bins_out.data(), 1.f, 1);
      std::copy_n(bins_out.begin(), static_cast<std::size_t>(count) * spec.bins, spec.frame(c, t0));
    }
  }
  return spec;
}

void Stft::inverse(const ComplexSpectrogram& spec, bool center, std::int64_t length, float* planar) const {
  if (spec.bins != bins()) fail("istft", "spectrogram has " + std::to_string(spec.bins) + " bins, expected " +
                                             std::to_string(bins()));
  const int pad = center ? n_fft_ / 2 : 0;
  const std::int64_t full = static_cast<std::int64_t>(n_fft_) + static_cast<std::int64_t>(n_hop_) * (spec.frames - 1);
  // Window-square envelope, shared by all channels.
  std::vector<double> envelope(full, 0.0);
  for (int t = 0; t < spec.frames; ++t)
    for (int i = 0; i < n_fft_; ++i)
      envelope[static_cast<std::size_t>(t) * n_hop_ + i] += static_cast<double>(window_[i]) * window_[i];
  const pocketfft::stride_t in_stride{static_cast<std::ptrdiff_t>(spec.bins * sizeof(std::complex<float>)),
                                      sizeof(std::complex<float>)};
  const pocketfft::stride_t out_stride{static_cast<std::ptrdiff_t>(n_fft_ * sizeof(float)), sizeof(float)};
#pragma omp parallel
  {
    std::vector<float> block(static_cast<std::size_t>(kFramesPerCall) * n_fft_);
    std::vector<std::complex<float>> bins_in(static_cast<std::size_t>(kFramesPerCall) * spec.bins);
    std::vector<double> acc;
#pragma omp for schedule(static)
    for (int c = 0; c < spec.channels; ++c) {
      acc.assign(full, 0.0);
      for (int t0 = 0; t0 < spec.frames; t0 += kFramesPerCall) {
        const int count = std::min(kFramesPerCall, spec.frames - t0);
        // irfft of each frame, scaled by 1 / n_fft; the inverse real FFT uses only the real parts of the DC
        // and Nyquist bins, as irfft does.
        std::copy_n(spec.frame(c, t0), static_cast<std::size_t>(count) * spec.bins, bins_in.begin());
        std::fill(bins_in.begin() + static_cast<std::ptrdiff_t>(count) * spec.bins, bins_in.end(), std::complex<float>());
        pocketfft::c2r<float>({static_cast<std::size_t>(kFramesPerCall), static_cast<std::size_t>(n_fft_)}, in_stride,
                              out_stride, 1, pocketfft::BACKWARD, bins_in.data(), block.data(),
                              1.f / static_cast<float>(n_fft_), 1);
        for (int f = 0; f < count; ++f) {
          const float* frame = block.data() + static_cast<std::size_t>(f) * n_fft_;
          const std::size_t offset = static_cast<std::size_t>(t0 + f) * n_hop_;
          for (int i = 0; i < n_fft_; ++i) acc[offset + i] += static_cast<double>(frame[i]) * window_[i];
        }
      }
      float* y = planar + static_cast<std::size_t>(c) * length;
      for (std::int64_t k = 0; k < length; ++k) {
        const std::int64_t src = k + pad;
        if (src >= full) {
          y[k] = 0.f;  // torch.istft pads with zeros past the last frame
          continue;
        }
        const double env = envelope[src];
        y[k] = env > 1e-11 ? static_cast<float>(acc[src] / env) : 0.f;
      }
    }
  }
}

std::vector<float> magnitude(const ComplexSpectrogram& spec) {
  std::vector<float> mag(spec.data.size());
  // sqrt(re^2 + im^2) rather than std::abs (hypot): spectra are far from overflow, and hypot is ~5x slower
  for (std::size_t i = 0; i < mag.size(); ++i) mag[i] = std::sqrt(std::norm(spec.data[i]));
  return mag;
}

void magnitude_frame_major(const ComplexSpectrogram& spec, int batch, int batch_index, float* tbcf) {
  for (int t = 0; t < spec.frames; ++t)
    for (int c = 0; c < spec.channels; ++c) {
      const auto* src = spec.frame(c, t);
      float* dst = tbcf + ((static_cast<std::size_t>(t) * batch + batch_index) * spec.channels + c) * spec.bins;
      for (int f = 0; f < spec.bins; ++f) dst[f] = std::sqrt(std::norm(src[f]));
    }
}

}  // namespace unmix
