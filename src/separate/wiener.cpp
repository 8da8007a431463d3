// Wiener post-filter on the CPU (see unmix/wiener.h for the algorithm).
//
// Within a window every bin is independent: the covariance R_j(f) sums over the window's frames of that
// bin only, and everything else is per (frame, bin). So the work is split into (window, bin) tasks, each
// holding its frames in small local arrays; only the scaling factor needs a pass over the whole window.
#include "unmix/wiener.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "unmix/error.h"

namespace unmix {

namespace {

// Plain complex arithmetic: std::complex<double> multiplication goes through __muldc3's NaN/inf
// recovery unless the whole build uses -fcx-limited-range, which is several times slower here.
struct Cd {
  double re = 0, im = 0;
};
inline Cd operator+(Cd a, Cd b) { return {a.re + b.re, a.im + b.im}; }
inline Cd operator-(Cd a, Cd b) { return {a.re - b.re, a.im - b.im}; }
inline Cd operator*(Cd a, Cd b) { return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re}; }
inline Cd operator*(double s, Cd a) { return {s * a.re, s * a.im}; }
inline Cd conj(Cd a) { return {a.re, -a.im}; }
inline double norm2(Cd a) { return a.re * a.re + a.im * a.im; }
// openunmix's _inv: conj(z) / |z|^2 (no guard, as there; the regularization keeps |z| > 0)
inline Cd inverse(Cd z) {
  const double n = norm2(z);
  return {z.re / n, -z.im / n};
}

constexpr int kMaxChannels = 2;

// A channels x channels complex matrix, row-major.
struct Mat2 {
  Cd m[kMaxChannels][kMaxChannels];
};

// openunmix's _invert: 1x1 or 2x2 by the adjugate.
Mat2 invert(const Mat2& a, int channels) {
  Mat2 out;
  if (channels == 1) {
    out.m[0][0] = inverse(a.m[0][0]);
    return out;
  }
  const Cd inv_det = inverse(a.m[0][0] * a.m[1][1] - a.m[0][1] * a.m[1][0]);
  const Cd neg_inv_det = {-inv_det.re, -inv_det.im};
  out.m[0][0] = inv_det * a.m[1][1];
  out.m[1][0] = neg_inv_det * a.m[1][0];
  out.m[0][1] = neg_inv_det * a.m[0][1];
  out.m[1][1] = inv_det * a.m[0][0];
  return out;
}

struct WindowTask {
  const ComplexSpectrogram& mix;
  const TargetMagnitudes& magnitudes;
  const WienerOptions& options;
  std::vector<ComplexSpectrogram>& sources;
};

// Scratch for one (window, bin) task, reused across tasks of a thread.
struct BinScratch {
  std::vector<Cd> x;  // [frame][channel]
  std::vector<Cd> y;  // [source][frame][channel]
  std::vector<double> v;  // [source][frame]
  std::vector<Mat2> R;    // [source]
};

void filter_bin(const WindowTask& task, int first, int count, int bin, double max_abs, BinScratch& s) {
  const ComplexSpectrogram& mix = task.mix;
  const WienerOptions& opt = task.options;
  const int C = mix.channels;
  const int targets = static_cast<int>(task.magnitudes.targets.size());
  const int S = wiener_source_count(targets, opt);
  const int mc = task.magnitudes.channels;
  s.x.resize(static_cast<std::size_t>(count) * C);
  s.y.resize(static_cast<std::size_t>(S) * count * C);
  s.v.resize(static_cast<std::size_t>(S) * count);
  auto X = [&](int t, int c) -> Cd& { return s.x[static_cast<std::size_t>(t) * C + c]; };
  auto Y = [&](int j, int t, int c) -> Cd& { return s.y[(static_cast<std::size_t>(j) * count + t) * C + c]; };
  auto V = [&](int j, int t) -> double& { return s.v[static_cast<std::size_t>(j) * count + t]; };
  auto magnitude = [&](int j, int t, int c) {
    const int mch = mc == 1 ? 0 : c;
    return static_cast<double>(
        task.magnitudes.targets[j][(static_cast<std::size_t>(first + t) * mc + mch) * mix.bins + bin]);
  };

  for (int t = 0; t < count; ++t)
    for (int c = 0; c < C; ++c) {
      const std::complex<float> z = mix.frame(c, first + t)[bin];
      X(t, c) = {z.real(), z.imag()};
    }

  // Initial estimates.
  for (int t = 0; t < count; ++t)
    for (int c = 0; c < C; ++c) {
      const Cd x = X(t, c);
      if (opt.softmask) {
        double total = 0;
        for (int j = 0; j < targets; ++j) total += magnitude(j, t, c);
        for (int j = 0; j < targets; ++j) Y(j, t, c) = (magnitude(j, t, c) / (opt.eps + total)) * x;
      } else {
        const double r = std::hypot(x.re, x.im);
        const Cd phase = r > 0 ? Cd{x.re / r, x.im / r} : Cd{1.0, 0.0};
        for (int j = 0; j < targets; ++j) Y(j, t, c) = magnitude(j, t, c) * phase;
      }
      if (opt.residual) {
        Cd rest = x;
        for (int j = 0; j < targets; ++j) rest = rest - Y(j, t, c);
        Y(targets, t, c) = rest;
      }
    }

  if (opt.iterations > 0) {
    const double scale = 1.0 / max_abs;
    for (auto& z : s.x) z = scale * z;
    for (auto& z : s.y) z = scale * z;
    const double regularization = std::sqrt(opt.eps);
    s.R.resize(static_cast<std::size_t>(S));
    auto& R = s.R;
    for (int it = 0; it < opt.iterations; ++it) {
      // Power spectral densities and spatial covariances from the current estimates.
      for (int j = 0; j < S; ++j) {
        Mat2 sum{};
        double weight = opt.eps;
        for (int t = 0; t < count; ++t) {
          double power = 0;
          for (int c = 0; c < C; ++c) power += norm2(Y(j, t, c));
          V(j, t) = power / C;
          weight += V(j, t);
          for (int a = 0; a < C; ++a)
            for (int b = 0; b < C; ++b) sum.m[a][b] = sum.m[a][b] + Y(j, t, a) * conj(Y(j, t, b));
        }
        for (int a = 0; a < C; ++a)
          for (int b = 0; b < C; ++b) R[j].m[a][b] = (1.0 / weight) * sum.m[a][b];
      }
      // Re-separate every frame with the Wiener gains of the new model.
      for (int t = 0; t < count; ++t) {
        Mat2 cxx{};
        for (int a = 0; a < C; ++a) cxx.m[a][a].re = regularization;
        for (int j = 0; j < S; ++j)
          for (int a = 0; a < C; ++a)
            for (int b = 0; b < C; ++b) cxx.m[a][b] = cxx.m[a][b] + V(j, t) * R[j].m[a][b];
        const Mat2 inv = invert(cxx, C);
        for (int j = 0; j < S; ++j) {
          Mat2 gain{};
          for (int a = 0; a < C; ++a)
            for (int b = 0; b < C; ++b) {
              Cd g{};
              for (int k = 0; k < C; ++k) g = g + R[j].m[a][k] * inv.m[k][b];
              gain.m[a][b] = V(j, t) * g;
            }
          for (int a = 0; a < C; ++a) {
            Cd out{};
            for (int b = 0; b < C; ++b) out = out + gain.m[a][b] * X(t, b);
            Y(j, t, a) = out;
          }
        }
      }
    }
    for (auto& z : s.y) z = max_abs * z;
  }

  for (int j = 0; j < S; ++j)
    for (int t = 0; t < count; ++t)
      for (int c = 0; c < C; ++c) {
        const Cd z = Y(j, t, c);
        task.sources[j].frame(c, first + t)[bin] = {static_cast<float>(z.re), static_cast<float>(z.im)};
      }
}

}  // namespace

void WienerOptions::validate() const {
  if (iterations < 0) fail("wiener", "iterations must be >= 0, got " + std::to_string(iterations));
  if (window_frames < 0) fail("wiener", "window length must be >= 0 frames, got " + std::to_string(window_frames));
  if (!(eps > 0)) fail("wiener", "eps must be > 0");
  if (!(scale_factor > 0)) fail("wiener", "scale factor must be > 0");
}

std::vector<ComplexSpectrogram> wiener(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes,
                                       const WienerOptions& options) {
  options.validate();
  if (mix.channels < 1 || mix.channels > kMaxChannels)
    fail("wiener", "the mixture must have 1 or 2 channels, got " + std::to_string(mix.channels));
  if (magnitudes.channels != 1 && magnitudes.channels != mix.channels)
    fail("wiener", "target magnitudes have " + std::to_string(magnitudes.channels) +
                       " channels; expected 1 or the mixture's " + std::to_string(mix.channels));
  const int targets = static_cast<int>(magnitudes.targets.size());
  if (targets < 1) fail("wiener", "no target magnitudes given");
  const int S = wiener_source_count(targets, options);

  std::vector<ComplexSpectrogram> sources(static_cast<std::size_t>(S));
  for (auto& s : sources) {
    s.channels = mix.channels;
    s.frames = mix.frames;
    s.bins = mix.bins;
    s.data.resize(mix.data.size());
  }
  if (mix.frames == 0) return sources;

  const int window = options.window_frames > 0 ? options.window_frames : mix.frames;
  const int windows = (mix.frames + window - 1) / window;
  // max(1, max |x| / scale_factor) per window, over all its frames, bins and channels.
  std::vector<double> max_abs(static_cast<std::size_t>(windows), 1.0);
  if (options.iterations > 0) {
#pragma omp parallel for schedule(static)
    for (int w = 0; w < windows; ++w) {
      const int first = w * window, last = std::min(mix.frames, first + window);
      double peak = 0;
      for (int c = 0; c < mix.channels; ++c)
        for (int t = first; t < last; ++t) {
          const std::complex<float>* frame = mix.frame(c, t);
          for (int f = 0; f < mix.bins; ++f) {
            const double re = frame[f].real(), im = frame[f].imag();
            peak = std::max(peak, re * re + im * im);
          }
        }
      max_abs[w] = std::max(1.0, std::sqrt(peak) / options.scale_factor);
    }
  }

  const WindowTask task{mix, magnitudes, options, sources};
  const long long tasks = static_cast<long long>(windows) * mix.bins;
#pragma omp parallel
  {
    BinScratch scratch;
#pragma omp for schedule(static)
    for (long long k = 0; k < tasks; ++k) {
      const int w = static_cast<int>(k / mix.bins), bin = static_cast<int>(k % mix.bins);
      const int first = w * window, count = std::min(mix.frames, first + window) - first;
      filter_bin(task, first, count, bin, max_abs[w], scratch);
    }
  }
  return sources;
}

}  // namespace unmix
