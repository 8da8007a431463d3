// Wiener post-filter on the CPU (see unmix/wiener.h for the algorithm): the stages of
// unmix/wiener_stages.h, run over (window, block of bins) tasks in parallel.
//
// A block is a few dozen neighbouring bins, so reading a frame's bins is one contiguous run (a task per
// single bin would stride through memory a frame at a time), and the per-bin arithmetic runs over the
// block in the innermost loop on separate real/imaginary arrays, which the compiler vectorizes.
#include "unmix/wiener.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "unmix/error.h"
#include "unmix/wiener_stages.h"

namespace unmix::wiener_stages {

namespace {

constexpr std::size_t B = kBlockBins;

// openunmix's _invert over a block of bins: 1x1 as conj(z) / |z|^2, 2x2 by the adjugate over the
// determinant (unguarded, as there; the regularization keeps the determinant away from 0).
template <int C>
void invert_block(const Planes& m, Planes& inv, int nb) {
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

template <int C>
void initial_estimates_impl(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes,
                            const WienerOptions& opt, double scale, Block& s) {
  const int nb = s.bins, targets = s.targets, mc = magnitudes.channels;
  const double inv_scale = 1.0 / scale;
  for (int t = 0; t < s.frames; ++t)
    for (int c = 0; c < C; ++c) {
      const std::complex<float>* src = mix.frame(c, s.first + t) + s.bin0;
      double* __restrict xr = s.x.re.data() + s.xi(t, c);
      double* __restrict xm = s.x.im.data() + s.xi(t, c);
      for (int b = 0; b < nb; ++b) {
        xr[b] = src[b].real() * inv_scale;
        xm[b] = src[b].imag() * inv_scale;
      }
      auto magnitude = [&](int j) {
        return magnitudes.targets[j] +
               (static_cast<std::size_t>(s.first + t) * mc + (mc == 1 ? 0 : c)) * mix.bins + s.bin0;
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
          double* yr = s.y.re.data() + s.yi(j, t, c);
          double* ym = s.y.im.data() + s.yi(j, t, c);
          for (int b = 0; b < nb; ++b) {
            const double gain = m[b] / (opt.eps + total[b]);
            yr[b] = gain * xr[b];
            ym[b] = gain * xm[b];
          }
        }
      } else {
        for (int j = 0; j < targets; ++j) {
          const float* __restrict m = magnitude(j);
          double* __restrict yr = s.y.re.data() + s.yi(j, t, c);
          double* __restrict ym = s.y.im.data() + s.yi(j, t, c);
          for (int b = 0; b < nb; ++b) {
            // magnitude with the mixture's phase; a silent bin has phase 0 (openunmix's atan2(0, 0))
            const double r = std::sqrt(xr[b] * xr[b] + xm[b] * xm[b]);
            const double inv_r = r > 0 ? 1.0 / r : 0.0;
            const double mag = m[b] * inv_scale;
            yr[b] = r > 0 ? mag * (xr[b] * inv_r) : mag;
            ym[b] = mag * (xm[b] * inv_r);
          }
        }
      }
      if (opt.residual) {
        double* rr = s.y.re.data() + s.yi(targets, t, c);
        double* rm = s.y.im.data() + s.yi(targets, t, c);
        std::copy_n(xr, nb, rr);
        std::copy_n(xm, nb, rm);
        for (int j = 0; j < targets; ++j) {
          const double* yr = s.y.re.data() + s.yi(j, t, c);
          const double* ym = s.y.im.data() + s.yi(j, t, c);
          for (int b = 0; b < nb; ++b) {
            rr[b] -= yr[b];
            rm[b] -= ym[b];
          }
        }
      }
    }
}

template <int C>
void covariance_impl(const WienerOptions& opt, Block& s) {
  const int nb = s.bins;
  for (int j = 0; j < s.sources; ++j) {
    for (int a = 0; a < C; ++a)
      for (int c = 0; c < C; ++c) {
        std::fill_n(s.R.re.data() + s.ri(j, a, c), nb, 0.0);
        std::fill_n(s.R.im.data() + s.ri(j, a, c), nb, 0.0);
      }
    double* weight = s.weight.data();
    std::fill_n(weight, nb, opt.eps);
    for (int t = 0; t < s.frames; ++t) {
      double* __restrict v = s.v.data() + s.vi(j, t);
      std::fill_n(v, nb, 0.0);
      for (int c = 0; c < C; ++c) {
        const double* __restrict yr = s.y.re.data() + s.yi(j, t, c);
        const double* __restrict ym = s.y.im.data() + s.yi(j, t, c);
        for (int b = 0; b < nb; ++b) v[b] += yr[b] * yr[b] + ym[b] * ym[b];
      }
      for (int b = 0; b < nb; ++b) {
        v[b] /= C;  // channel mean
        weight[b] += v[b];
      }
      for (int a = 0; a < C; ++a)
        for (int c = 0; c < C; ++c) {
          const double* ar = s.y.re.data() + s.yi(j, t, a);
          const double* am = s.y.im.data() + s.yi(j, t, a);
          const double* cr = s.y.re.data() + s.yi(j, t, c);
          const double* cm = s.y.im.data() + s.yi(j, t, c);
          double* Rr = s.R.re.data() + s.ri(j, a, c);
          double* Rm = s.R.im.data() + s.ri(j, a, c);
          for (int b = 0; b < nb; ++b) {  // y_a * conj(y_c)
            Rr[b] += ar[b] * cr[b] + am[b] * cm[b];
            Rm[b] += am[b] * cr[b] - ar[b] * cm[b];
          }
        }
    }
    for (int a = 0; a < C; ++a)
      for (int c = 0; c < C; ++c) {
        double* Rr = s.R.re.data() + s.ri(j, a, c);
        double* Rm = s.R.im.data() + s.ri(j, a, c);
        for (int b = 0; b < nb; ++b) {
          Rr[b] /= weight[b];
          Rm[b] /= weight[b];
        }
      }
  }
}

template <int C>
void update_impl(const WienerOptions& opt, double out_scale, Block& s) {
  const int nb = s.bins;
  const double regularization = std::sqrt(opt.eps);
  auto ci = [&](int p, int q) { return (static_cast<std::size_t>(p) * C + q) * B; };
  for (int t = 0; t < s.frames; ++t) {
    // Cxx = sqrt(eps) I + sum_j v_j R_j
    for (int p = 0; p < C; ++p)
      for (int q = 0; q < C; ++q) {
        double* __restrict cr = s.cxx.re.data() + ci(p, q);
        double* __restrict cm = s.cxx.im.data() + ci(p, q);
        std::fill_n(cr, nb, p == q ? regularization : 0.0);
        std::fill_n(cm, nb, 0.0);
        for (int j = 0; j < s.sources; ++j) {
          const double* __restrict v = s.v.data() + s.vi(j, t);
          const double* __restrict Rr = s.R.re.data() + s.ri(j, p, q);
          const double* __restrict Rm = s.R.im.data() + s.ri(j, p, q);
          for (int b = 0; b < nb; ++b) {
            cr[b] += v[b] * Rr[b];
            cm[b] += v[b] * Rm[b];
          }
        }
      }
    invert_block<C>(s.cxx, s.inv, nb);
    for (int j = 0; j < s.sources; ++j) {
      const double* __restrict v = s.v.data() + s.vi(j, t);
      for (int p = 0; p < C; ++p) {
        double* __restrict outr = s.out.re.data() + static_cast<std::size_t>(p) * B;
        double* __restrict outm = s.out.im.data() + static_cast<std::size_t>(p) * B;
        std::fill_n(outr, nb, 0.0);
        std::fill_n(outm, nb, 0.0);
        for (int q = 0; q < C; ++q) {
          const double* __restrict xr = s.x.re.data() + s.xi(t, q);
          const double* __restrict xm = s.x.im.data() + s.xi(t, q);
          const double* __restrict Rr[C];
          const double* __restrict Rm[C];
          const double* __restrict Ir[C];
          const double* __restrict Im[C];
          for (int k = 0; k < C; ++k) {
            Rr[k] = s.R.re.data() + s.ri(j, p, k);
            Rm[k] = s.R.im.data() + s.ri(j, p, k);
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
        double* __restrict yr = s.y.re.data() + s.yi(j, t, p);
        double* __restrict ym = s.y.im.data() + s.yi(j, t, p);
        const double* __restrict outr = s.out.re.data() + static_cast<std::size_t>(p) * B;
        const double* __restrict outm = s.out.im.data() + static_cast<std::size_t>(p) * B;
        for (int b = 0; b < nb; ++b) {
          yr[b] = outr[b] * out_scale;
          ym[b] = outm[b] * out_scale;
        }
      }
    }
  }
}

}  // namespace

void Block::shape(int channels_, int targets_, int sources_, int first_, int frames_, int bin0_, int bins_) {
  if (channels_ < 1 || channels_ > 2 || bins_ < 1 || bins_ > kBlockBins || frames_ < 1 || sources_ < targets_)
    fail("wiener", "bad block shape");
  channels = channels_;
  targets = targets_;
  sources = sources_;
  first = first_;
  frames = frames_;
  bin0 = bin0_;
  bins = bins_;
  const std::size_t C = static_cast<std::size_t>(channels), S = static_cast<std::size_t>(sources),
                    T = static_cast<std::size_t>(frames);
  x.resize(T * C * B);
  y.resize(S * T * C * B);
  v.resize(S * T * B);
  R.resize(S * C * C * B);
  cxx.resize(C * C * B);
  inv.resize(C * C * B);
  out.resize(C * B);
  weight.resize(B);
  total.resize(B);
}

double window_peak(const ComplexSpectrogram& mix, int first, int frames) {
  double peak = 0;
  for (int c = 0; c < mix.channels; ++c)
    for (int t = first; t < first + frames; ++t) {
      const std::complex<float>* frame = mix.frame(c, t);
      for (int f = 0; f < mix.bins; ++f) {
        const double re = frame[f].real(), im = frame[f].imag();
        peak = std::max(peak, re * re + im * im);
      }
    }
  return peak;
}

double window_scale(double peak, double scale_factor) { return std::max(1.0, std::sqrt(peak) / scale_factor); }

void initial_estimates(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes, const WienerOptions& options,
                       double scale, Block& block) {
  if (block.channels == 1)
    initial_estimates_impl<1>(mix, magnitudes, options, scale, block);
  else
    initial_estimates_impl<2>(mix, magnitudes, options, scale, block);
}

void covariance(const WienerOptions& options, Block& block) {
  if (block.channels == 1)
    covariance_impl<1>(options, block);
  else
    covariance_impl<2>(options, block);
}

void update(const WienerOptions& options, double out_scale, Block& block) {
  if (block.channels == 1)
    update_impl<1>(options, out_scale, block);
  else
    update_impl<2>(options, out_scale, block);
}

void store(const Block& s, int leading_frames, std::vector<ComplexSpectrogram>& sources) {
  for (int j = 0; j < s.sources; ++j)
    for (int t = 0; t < s.frames; ++t)
      for (int c = 0; c < s.channels; ++c) {
        std::complex<float>* dst = sources[j].frame(c, leading_frames + s.first + t) + s.bin0;
        const double* yr = s.y.re.data() + s.yi(j, t, c);
        const double* ym = s.y.im.data() + s.yi(j, t, c);
        for (int b = 0; b < s.bins; ++b) dst[b] = {static_cast<float>(yr[b]), static_cast<float>(ym[b])};
      }
}

}  // namespace unmix::wiener_stages

namespace unmix {

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
  // The EM works on each window divided by max(1, max|x| / scale_factor); without EM nothing is scaled.
  std::vector<double> scale(static_cast<std::size_t>(windows), 1.0);
  if (options.iterations > 0) {
#pragma omp parallel for schedule(static)
    for (int w = 0; w < windows; ++w) {
      const int first = w * window, count = std::min(mix.frames, first + window) - first;
      scale[w] = wiener_stages::window_scale(wiener_stages::window_peak(mix, first, count), options.scale_factor);
    }
  }

  const int blocks = (mix.bins + wiener_stages::kBlockBins - 1) / wiener_stages::kBlockBins;
  const long long tasks = static_cast<long long>(windows) * blocks;
#pragma omp parallel
  {
    wiener_stages::Block block;
#pragma omp for schedule(dynamic)
    for (long long k = 0; k < tasks; ++k) {
      const int w = static_cast<int>(k / blocks), b = static_cast<int>(k % blocks);
      const int first = w * window, count = std::min(mix.frames, first + window) - first;
      const int bin0 = b * wiener_stages::kBlockBins, nb = std::min(wiener_stages::kBlockBins, mix.bins - bin0);
      block.shape(mix.channels, targets, S, first, count, bin0, nb);
      wiener_stages::initial_estimates(mix, magnitudes, options, scale[w], block);
      for (int it = 0; it < options.iterations; ++it) {
        wiener_stages::covariance(options, block);
        wiener_stages::update(options, it + 1 == options.iterations ? scale[w] : 1.0, block);
      }
      wiener_stages::store(block, leading_frames, sources);
    }
  }
}

}  // namespace unmix
