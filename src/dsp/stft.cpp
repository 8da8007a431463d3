#include "unmix/stft.h"

#include <cmath>
#include <memory>
#include <mutex>
#include <numbers>
#include <unsupported/Eigen/FFT>

#include "unmix/error.h"

namespace unmix {

// Eigen::FFT caches plans inside the object and is not safe to share between threads, so each worker
// thread gets its own from a small pool.
struct Stft::Impl {
  std::mutex mutex;
  std::vector<std::unique_ptr<Eigen::FFT<float>>> pool;

  std::unique_ptr<Eigen::FFT<float>> acquire() {
    std::lock_guard<std::mutex> lock(mutex);
    if (pool.empty()) {
      auto fft = std::make_unique<Eigen::FFT<float>>();
      fft->SetFlag(Eigen::FFT<float>::HalfSpectrum);
      return fft;
    }
    auto fft = std::move(pool.back());
    pool.pop_back();
    return fft;
  }
  void release(std::unique_ptr<Eigen::FFT<float>> fft) {
    std::lock_guard<std::mutex> lock(mutex);
    pool.push_back(std::move(fft));
  }
};

Stft::Stft(int n_fft, int n_hop) : n_fft_(n_fft), n_hop_(n_hop), window_(n_fft), impl_(new Impl) {
  if (n_fft < 2 || n_fft % 2 != 0 || n_hop < 1 || n_hop > n_fft) fail("stft", "need an even n_fft and 0 < hop <= n_fft");
  // torch.hann_window(n_fft) (periodic): 0.5 - 0.5 cos(2 pi n / N)
  for (int i = 0; i < n_fft; ++i)
    window_[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / n_fft));
}

Stft::~Stft() { delete impl_; }

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
  const int total = channels * spec.frames;
#pragma omp parallel
  {
    auto fft = impl_->acquire();
    std::vector<float> segment(n_fft_);
    std::vector<std::complex<float>> out;
#pragma omp for schedule(static)
    for (int job = 0; job < total; ++job) {
      const int c = job / spec.frames, t = job % spec.frames;
      const float* x = planar + static_cast<std::size_t>(c) * length;
      const std::int64_t start = static_cast<std::int64_t>(t) * n_hop_ - pad;
      for (int i = 0; i < n_fft_; ++i) {
        std::int64_t k = start + i;
        // reflect padding (no edge repeat): x[-k] for k < 0, x[2(L-1) - k] past the end
        if (k < 0) k = -k;
        if (k >= length) k = 2 * (length - 1) - k;
        segment[i] = x[k] * window_[i];
      }
      fft->fwd(out, segment);
      std::copy(out.begin(), out.begin() + spec.bins, spec.frame(c, t));
    }
    impl_->release(std::move(fft));
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
#pragma omp parallel
  {
    auto fft = impl_->acquire();
    std::vector<float> frame;
    std::vector<std::complex<float>> half(spec.bins);
    std::vector<double> acc;
#pragma omp for schedule(static)
    for (int c = 0; c < spec.channels; ++c) {
      acc.assign(full, 0.0);
      for (int t = 0; t < spec.frames; ++t) {
        std::copy(spec.frame(c, t), spec.frame(c, t) + spec.bins, half.begin());
        // A real signal's DC and Nyquist bins are real; drop their imaginary parts as irfft does.
        half.front().imag(0.f);
        half.back().imag(0.f);
        fft->inv(frame, half, n_fft_);  // includes the 1 / n_fft scaling of irfft
        const std::size_t offset = static_cast<std::size_t>(t) * n_hop_;
        for (int i = 0; i < n_fft_; ++i) acc[offset + i] += static_cast<double>(frame[i]) * window_[i];
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
    impl_->release(std::move(fft));
  }
}

std::vector<float> magnitude(const ComplexSpectrogram& spec) {
  std::vector<float> mag(spec.data.size());
  for (std::size_t i = 0; i < mag.size(); ++i) mag[i] = std::abs(spec.data[i]);
  return mag;
}

void magnitude_frame_major(const ComplexSpectrogram& spec, int batch, int batch_index, float* tbcf) {
  for (int t = 0; t < spec.frames; ++t)
    for (int c = 0; c < spec.channels; ++c) {
      const auto* src = spec.frame(c, t);
      float* dst = tbcf + ((static_cast<std::size_t>(t) * batch + batch_index) * spec.channels + c) * spec.bins;
      for (int f = 0; f < spec.bins; ++f) dst[f] = std::abs(src[f]);
    }
}

}  // namespace unmix
