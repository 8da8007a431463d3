// Wiener post-filter on the CPU (see unmix/wiener.h for the algorithm).
//
// Within a window every bin is independent: the covariance R_j(f) sums over the window's frames of that
// bin only, and everything else is per (frame, bin). The work is split into (window, block of bins) tasks.
// A block is a few dozen neighbouring bins, so reading a frame's bins is one contiguous run (a task per
// single bin would stride through memory a frame at a time), and the per-bin arithmetic runs over the
// block in the innermost loop on separate real/imaginary arrays, which the compiler vectorizes.
#include "unmix/wiener.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "unmix/error.h"

namespace unmix {

namespace {

constexpr int kBlock = 32;  // bins per task

// Structure-of-arrays complex storage: element i is (re[i], im[i]).
struct Planes {
  std::vector<double> re, im;
  void resize(std::size_t n) {
    re.resize(n);
    im.resize(n);
  }
};

struct Scratch {
  Planes x;  // [frame][channel][bin in block]
  Planes y;  // [source][frame][channel][bin in block]
  std::vector<double> v;  // [source][frame][bin in block]
  Planes R;  // [source][row][col][bin in block]
  Planes cxx, inv;  // [row][col][bin in block] for the frame being filtered
  Planes out;  // [channel][bin in block]
  std::vector<double> weight, total;  // [bin in block]
};

// openunmix's _invert over a block of bins: 1x1 as conj(z) / |z|^2, 2x2 by the adjugate over the
// determinant (unguarded, as there; the regularization keeps the determinant away from 0).
template <int C>
void invert_block(const Planes& m, Planes& inv, int nb) {
  const std::size_t B = kBlock;
  const double* __restrict mr = m.re.data();
  const double* __restrict mm = m.im.data();
  double* __restrict ir = inv.re.data();
  double* __restrict im = inv.im.data();
  if constexpr (C == 1) {
    for (int b = 0; b < nb; ++b) {
      const double n = mr[b] * mr[b] + mm[b] * mm[b];
      ir[b] = mr[b] / n;
      im[b] = -mm[b] / n;
    }
  } else {
    for (int b = 0; b < nb; ++b) {
      const double ar = mr[b], am = mm[b];                  // m00
      const double br = mr[B + b], bm = mm[B + b];          // m01
      const double cr = mr[2 * B + b], cm = mm[2 * B + b];  // m10
      const double dr = mr[3 * B + b], dm = mm[3 * B + b];  // m11
      const double det_r = (ar * dr - am * dm) - (br * cr - bm * cm);
      const double det_m = (ar * dm + am * dr) - (br * cm + bm * cr);
      const double n = det_r * det_r + det_m * det_m;
      const double kr = det_r / n, km = -det_m / n;  // 1 / det
      ir[b] = kr * dr - km * dm;
      im[b] = kr * dm + km * dr;
      ir[B + b] = -(kr * br - km * bm);
      im[B + b] = -(kr * bm + km * br);
      ir[2 * B + b] = -(kr * cr - km * cm);
      im[2 * B + b] = -(kr * cm + km * cr);
      ir[3 * B + b] = kr * ar - km * am;
      im[3 * B + b] = kr * am + km * ar;
    }
  }
}

struct Task {
  const ComplexSpectrogram& mix;
  const TargetMagnitudes& magnitudes;
  const WienerOptions& options;
  std::vector<ComplexSpectrogram>& sources;
  int leading_frames;  // mix frame t goes to source frame leading_frames + t
};

// Frames [first, first + count) x bins [bin0, bin0 + nb) with C channels (1 or 2).
template <int C>
void filter_block(const Task& task, int first, int count, int bin0, int nb, double max_abs, Scratch& s) {
  const ComplexSpectrogram& mix = task.mix;
  const WienerOptions& opt = task.options;
  const int targets = static_cast<int>(task.magnitudes.targets.size());
  const int S = wiener_source_count(targets, opt);
  const int mc = task.magnitudes.channels;
  const std::size_t B = kBlock;
  s.x.resize(static_cast<std::size_t>(count) * C * B);
  s.y.resize(static_cast<std::size_t>(S) * count * C * B);
  s.v.resize(static_cast<std::size_t>(S) * count * B);
  s.R.resize(static_cast<std::size_t>(S) * C * C * B);
  s.cxx.resize(static_cast<std::size_t>(C) * C * B);
  s.inv.resize(static_cast<std::size_t>(C) * C * B);
  s.out.resize(static_cast<std::size_t>(C) * B);
  s.weight.resize(B);
  s.total.resize(B);
  auto xi = [&](int t, int c) { return (static_cast<std::size_t>(t) * C + c) * B; };
  auto yi = [&](int j, int t, int c) { return ((static_cast<std::size_t>(j) * count + t) * C + c) * B; };
  auto vi = [&](int j, int t) { return (static_cast<std::size_t>(j) * count + t) * B; };
  auto ri = [&](int j, int a, int b) { return ((static_cast<std::size_t>(j) * C + a) * C + b) * B; };

  for (int t = 0; t < count; ++t)
    for (int c = 0; c < C; ++c) {
      const std::complex<float>* src = mix.frame(c, first + t) + bin0;
      double* re = s.x.re.data() + xi(t, c);
      double* im = s.x.im.data() + xi(t, c);
      for (int b = 0; b < nb; ++b) {
        re[b] = src[b].real();
        im[b] = src[b].imag();
      }
    }

  // Initial estimates.
  for (int t = 0; t < count; ++t)
    for (int c = 0; c < C; ++c) {
      const double* __restrict xr = s.x.re.data() + xi(t, c);
      const double* __restrict xm = s.x.im.data() + xi(t, c);
      auto magnitude = [&](int j) {
        return task.magnitudes.targets[j] + (static_cast<std::size_t>(first + t) * mc + (mc == 1 ? 0 : c)) * mix.bins + bin0;
      };
      if (opt.softmask) {
        double* total = s.total.data();
        std::fill_n(total, nb, 0.0);
        for (int j = 0; j < targets; ++j) {
          const float* m = magnitude(j);
          for (int b = 0; b < nb; ++b) total[b] += m[b];
        }
        for (int j = 0; j < targets; ++j) {
          const float* m = magnitude(j);
          double* yr = s.y.re.data() + yi(j, t, c);
          double* ym = s.y.im.data() + yi(j, t, c);
          for (int b = 0; b < nb; ++b) {
            const double gain = m[b] / (opt.eps + total[b]);
            yr[b] = gain * xr[b];
            ym[b] = gain * xm[b];
          }
        }
      } else {
        for (int j = 0; j < targets; ++j) {
          const float* __restrict m = magnitude(j);
          double* __restrict yr = s.y.re.data() + yi(j, t, c);
          double* __restrict ym = s.y.im.data() + yi(j, t, c);
          for (int b = 0; b < nb; ++b) {
            // magnitude with the mixture's phase; a silent bin has phase 0 (openunmix's atan2(0, 0))
            const double r = std::sqrt(xr[b] * xr[b] + xm[b] * xm[b]);
            const double inv_r = r > 0 ? 1.0 / r : 0.0;
            yr[b] = r > 0 ? m[b] * (xr[b] * inv_r) : m[b];
            ym[b] = m[b] * (xm[b] * inv_r);
          }
        }
      }
      if (opt.residual) {
        double* rr = s.y.re.data() + yi(targets, t, c);
        double* rm = s.y.im.data() + yi(targets, t, c);
        for (int b = 0; b < nb; ++b) {
          rr[b] = xr[b];
          rm[b] = xm[b];
        }
        for (int j = 0; j < targets; ++j) {
          const double* yr = s.y.re.data() + yi(j, t, c);
          const double* ym = s.y.im.data() + yi(j, t, c);
          for (int b = 0; b < nb; ++b) {
            rr[b] -= yr[b];
            rm[b] -= ym[b];
          }
        }
      }
    }

  if (opt.iterations > 0) {
    const double scale = 1.0 / max_abs;
    for (auto* plane : {&s.x.re, &s.x.im, &s.y.re, &s.y.im})
      for (double& z : *plane) z *= scale;
    const double regularization = std::sqrt(opt.eps);
    for (int it = 0; it < opt.iterations; ++it) {
      // Power spectral densities and spatial covariances from the current estimates.
      for (int j = 0; j < S; ++j) {
        std::fill(s.R.re.begin() + static_cast<std::ptrdiff_t>(ri(j, 0, 0)),
                  s.R.re.begin() + static_cast<std::ptrdiff_t>(ri(j + 1, 0, 0)), 0.0);
        std::fill(s.R.im.begin() + static_cast<std::ptrdiff_t>(ri(j, 0, 0)),
                  s.R.im.begin() + static_cast<std::ptrdiff_t>(ri(j + 1, 0, 0)), 0.0);
        double* weight = s.weight.data();
        std::fill_n(weight, nb, opt.eps);
        for (int t = 0; t < count; ++t) {
          double* __restrict v = s.v.data() + vi(j, t);
          std::fill_n(v, nb, 0.0);
          for (int c = 0; c < C; ++c) {
            const double* __restrict yr = s.y.re.data() + yi(j, t, c);
            const double* __restrict ym = s.y.im.data() + yi(j, t, c);
            for (int b = 0; b < nb; ++b) v[b] += yr[b] * yr[b] + ym[b] * ym[b];
          }
          for (int b = 0; b < nb; ++b) {
            v[b] /= C;  // channel mean
            weight[b] += v[b];
          }
          for (int a = 0; a < C; ++a)
            for (int c = 0; c < C; ++c) {
              const double* ar = s.y.re.data() + yi(j, t, a);
              const double* am = s.y.im.data() + yi(j, t, a);
              const double* cr = s.y.re.data() + yi(j, t, c);
              const double* cm = s.y.im.data() + yi(j, t, c);
              double* Rr = s.R.re.data() + ri(j, a, c);
              double* Rm = s.R.im.data() + ri(j, a, c);
              for (int b = 0; b < nb; ++b) {  // y_a * conj(y_c)
                Rr[b] += ar[b] * cr[b] + am[b] * cm[b];
                Rm[b] += am[b] * cr[b] - ar[b] * cm[b];
              }
            }
        }
        for (int a = 0; a < C; ++a)
          for (int c = 0; c < C; ++c) {
            double* Rr = s.R.re.data() + ri(j, a, c);
            double* Rm = s.R.im.data() + ri(j, a, c);
            for (int b = 0; b < nb; ++b) {
              Rr[b] /= weight[b];
              Rm[b] /= weight[b];
            }
          }
      }
      // Re-separate every frame with the Wiener gains of the new model.
      for (int t = 0; t < count; ++t) {
        // Cxx = sqrt(eps) I + sum_j v_j R_j
        auto ci = [&](int p, int q) { return (static_cast<std::size_t>(p) * C + q) * B; };
        for (int p = 0; p < C; ++p)
          for (int q = 0; q < C; ++q) {
            double* __restrict cr = s.cxx.re.data() + ci(p, q);
            double* __restrict cm = s.cxx.im.data() + ci(p, q);
            std::fill_n(cr, nb, p == q ? regularization : 0.0);
            std::fill_n(cm, nb, 0.0);
            for (int j = 0; j < S; ++j) {
              const double* __restrict v = s.v.data() + vi(j, t);
              const double* __restrict Rr = s.R.re.data() + ri(j, p, q);
              const double* __restrict Rm = s.R.im.data() + ri(j, p, q);
              for (int b = 0; b < nb; ++b) {
                cr[b] += v[b] * Rr[b];
                cm[b] += v[b] * Rm[b];
              }
            }
          }
        invert_block<C>(s.cxx, s.inv, nb);
        for (int j = 0; j < S; ++j) {
          const double* __restrict v = s.v.data() + vi(j, t);
          for (int p = 0; p < C; ++p) {
            double* __restrict outr = s.out.re.data() + static_cast<std::size_t>(p) * B;
            double* __restrict outm = s.out.im.data() + static_cast<std::size_t>(p) * B;
            std::fill_n(outr, nb, 0.0);
            std::fill_n(outm, nb, 0.0);
            for (int q = 0; q < C; ++q) {
              const double* __restrict xr = s.x.re.data() + xi(t, q);
              const double* __restrict xm = s.x.im.data() + xi(t, q);
              const double* __restrict Rr[C];
              const double* __restrict Rm[C];
              const double* __restrict Ir[C];
              const double* __restrict Im[C];
              for (int k = 0; k < C; ++k) {
                Rr[k] = s.R.re.data() + ri(j, p, k);
                Rm[k] = s.R.im.data() + ri(j, p, k);
                Ir[k] = s.inv.re.data() + ci(k, q);
                Im[k] = s.inv.im.data() + ci(k, q);
              }
              for (int b = 0; b < nb; ++b) {
                // gain = v_j * (R_j Cxx^-1)[p][q]; out += gain * x_q
                double gr = 0, gm = 0;
                for (int k = 0; k < C; ++k) {
                  gr += Rr[k][b] * Ir[k][b] - Rm[k][b] * Im[k][b];
                  gm += Rr[k][b] * Im[k][b] + Rm[k][b] * Ir[k][b];
                }
                gr *= v[b];
                gm *= v[b];
                outr[b] += gr * xr[b] - gm * xm[b];
                outm[b] += gr * xm[b] + gm * xr[b];
              }
            }
          }
          // every source's new estimate uses the old ones only through v and R, so it can overwrite them
          for (int p = 0; p < C; ++p) {
            std::copy_n(s.out.re.data() + static_cast<std::size_t>(p) * B, nb, s.y.re.data() + yi(j, t, p));
            std::copy_n(s.out.im.data() + static_cast<std::size_t>(p) * B, nb, s.y.im.data() + yi(j, t, p));
          }
        }
      }
    }
    for (auto* plane : {&s.y.re, &s.y.im})
      for (double& z : *plane) z *= max_abs;
  }

  for (int j = 0; j < S; ++j)
    for (int t = 0; t < count; ++t)
      for (int c = 0; c < C; ++c) {
        std::complex<float>* dst = task.sources[j].frame(c, task.leading_frames + first + t) + bin0;
        const double* yr = s.y.re.data() + yi(j, t, c);
        const double* ym = s.y.im.data() + yi(j, t, c);
        for (int b = 0; b < nb; ++b) dst[b] = {static_cast<float>(yr[b]), static_cast<float>(ym[b])};
      }
}

}  // namespace

void WienerOptions::validate() const {
  if (iterations < 0) fail("wiener", "iterations must be >= 0, got " + std::to_string(iterations));
  if (window_frames < 0) fail("wiener", "window length must be >= 0 frames, got " + std::to_string(window_frames));
  if (!(eps > 0)) fail("wiener", "eps must be > 0");
  if (!(scale_factor > 0)) fail("wiener", "scale factor must be > 0");
}

void shape_sources(const ComplexSpectrogram& mix, int count, std::vector<ComplexSpectrogram>& sources,
                   int leading_frames) {
  if (leading_frames < 0) fail("wiener", "leading frames must be >= 0");
  sources.resize(static_cast<std::size_t>(count));
  for (auto& s : sources) {
    s.channels = mix.channels;
    s.frames = leading_frames + mix.frames;
    s.bins = mix.bins;
    s.data.resize(static_cast<std::size_t>(s.channels) * s.frames * s.bins);
  }
}

std::vector<ComplexSpectrogram> wiener(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes,
                                       const WienerOptions& options) {
  std::vector<ComplexSpectrogram> sources;
  wiener(mix, magnitudes, options, sources);
  return sources;
}

void wiener(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes, const WienerOptions& options,
            std::vector<ComplexSpectrogram>& sources, int leading_frames) {
  options.validate();
  if (mix.channels < 1 || mix.channels > 2)
    fail("wiener", "the mixture must have 1 or 2 channels, got " + std::to_string(mix.channels));
  if (magnitudes.channels != 1 && magnitudes.channels != mix.channels)
    fail("wiener", "target magnitudes have " + std::to_string(magnitudes.channels) +
                       " channels; expected 1 or the mixture's " + std::to_string(mix.channels));
  const int targets = static_cast<int>(magnitudes.targets.size());
  if (targets < 1) fail("wiener", "no target magnitudes given");
  const int S = wiener_source_count(targets, options);

  shape_sources(mix, S, sources, leading_frames);
  if (mix.frames == 0) return;

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

  const Task task{mix, magnitudes, options, sources, leading_frames};
  const int blocks = (mix.bins + kBlock - 1) / kBlock;
  const long long tasks = static_cast<long long>(windows) * blocks;
#pragma omp parallel
  {
    Scratch scratch;
#pragma omp for schedule(dynamic)
    for (long long k = 0; k < tasks; ++k) {
      const int w = static_cast<int>(k / blocks), block = static_cast<int>(k % blocks);
      const int first = w * window, count = std::min(mix.frames, first + window) - first;
      const int bin0 = block * kBlock, nb = std::min(kBlock, mix.bins - bin0);
      if (mix.channels == 1)
        filter_block<1>(task, first, count, bin0, nb, max_abs[w], scratch);
      else
        filter_block<2>(task, first, count, bin0, nb, max_abs[w], scratch);
    }
  }
}

}  // namespace unmix
