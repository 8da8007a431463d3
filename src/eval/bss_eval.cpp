// Complex products inside Eigen's KISS FFT without the C99 NaN/inf recovery path (__muldc3), which
// otherwise takes most of the transform time; inputs here are checked to be finite.
#pragma GCC optimize("cx-limited-range")
#include "unmix/eval/bss_eval.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <numeric>
#include <string>
#include <unsupported/Eigen/FFT>

#include "unmix/error.h"
#include "unmix/eval/distortion_filters.h"
#include "unmix/eval/lagged_correlation.h"

namespace unmix::eval {

int frame_count(std::int64_t length, std::int64_t window, std::int64_t hop) {
  if (window < length) return static_cast<int>((length - window + hop) / hop);
  return 1;
}

bool is_silent(PlanarSource source, int channels, std::int64_t length, std::int64_t begin, std::int64_t end) {
  for (std::int64_t n = begin; n < end; ++n) {
    double sum = 0.0;
    for (int c = 0; c < channels; ++c) sum += source[static_cast<std::size_t>(c) * length + n];
    if (sum != 0.0) return false;
  }
  return true;
}

double power_db(PlanarSource source, int channels, std::int64_t length, std::int64_t begin, std::int64_t end) {
  double sum = 0.0;
  for (int c = 0; c < channels; ++c)
    for (std::int64_t n = begin; n < end; ++n) {
      const double v = source[static_cast<std::size_t>(c) * length + n];
      sum += v * v;
    }
  const double count = static_cast<double>(channels) * static_cast<double>(end - begin);
  return sum > 0.0 ? 10.0 * std::log10(sum / count) : -std::numeric_limits<double>::infinity();
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Complex = std::complex<double>;
enum Metric { kSdr = 0, kIsr = 1, kSir = 2, kSar = 3 };

double safe_db(double num, double den) {
  if (den == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(num / den);
}

// Everything fixed for one evaluation: the channel signals and which (reference, estimate) pairs to score.
struct Problem {
  int sources = 0, channels = 0, filters_len = 0;
  double regularization = 0.0;
  std::int64_t length = 0;
  std::vector<const float*> ref_channels, est_channels;  // index source * channels + channel
  std::vector<std::vector<int>> candidates;               // estimate order per candidate permutation
  std::vector<char> need;                                  // [jtrue][jest]: that decomposition is scored
  std::vector<char> need_estimate;                         // [jest]: some pair uses this estimate

  int signals() const { return sources * channels; }
  bool needed(int jtrue, int jest) const { return need[static_cast<std::size_t>(jtrue) * sources + jest] != 0; }
};

// Distortion filters in the time domain, as museval's C and Cj.
struct Filters {
  // Estimate jest from all references: rows (source * channels + channel) * L + lag, column jest * channels + c.
  Eigen::MatrixXd all;
  // Estimate jest from reference jtrue alone: [jtrue * sources + jest], rows channel * L + lag, column c.
  std::vector<Eigen::MatrixXd> own;
};

Filters estimate_filters(const Problem& pb, std::int64_t begin, std::int64_t end) {
  const int M = pb.signals(), L = pb.filters_len;
  std::vector<const float*> y(pb.ref_channels);
  y.insert(y.end(), pb.est_channels.begin(), pb.est_channels.end());
  const LaggedCorrelations corr = lagged_correlations(pb.ref_channels, y, begin, end, L - 1);
  const Eigen::MatrixXd gram = delayed_gram(corr, 0, M, L);
  std::vector<int> est_columns(static_cast<std::size_t>(M));
  std::iota(est_columns.begin(), est_columns.end(), M);
  const Eigen::MatrixXd cross = delayed_cross(corr, 0, M, est_columns, L);

  Filters f;
  f.all = solve_distortion_filters(gram, cross, pb.regularization);
  f.own.resize(static_cast<std::size_t>(pb.sources) * pb.sources);
  const Eigen::Index block = static_cast<Eigen::Index>(pb.channels) * L;
  for (int jtrue = 0; jtrue < pb.sources; ++jtrue) {
    std::vector<int> ests;
    for (int jest = 0; jest < pb.sources; ++jest)
      if (pb.needed(jtrue, jest)) ests.push_back(jest);
    if (ests.empty()) continue;
    Eigen::MatrixXd rhs(block, static_cast<Eigen::Index>(ests.size()) * pb.channels);
    for (std::size_t i = 0; i < ests.size(); ++i)
      rhs.middleCols(static_cast<Eigen::Index>(i) * pb.channels, pb.channels) =
          cross.block(jtrue * block, static_cast<Eigen::Index>(ests[i]) * pb.channels, block, pb.channels);
    const Eigen::MatrixXd own =
        solve_distortion_filters(gram.block(jtrue * block, jtrue * block, block, block), rhs, pb.regularization);
    for (std::size_t i = 0; i < ests.size(); ++i)
      f.own[static_cast<std::size_t>(jtrue) * pb.sources + ests[i]] =
          own.middleCols(static_cast<Eigen::Index>(i) * pb.channels, pb.channels);
  }
  return f;
}

// The filters' spectra for one FFT size, ready to multiply with the spectra of a frame's references.
struct FilterSpectra {
  int fft = 0, bins = 0;
  // [jest][a * channels + c] -> bins values (a: reference channel signal, c: output channel)
  std::vector<std::vector<Complex>> all;
  // [jtrue * sources + jest][ck * channels + c] -> bins values
  std::vector<std::vector<Complex>> own;

  const Complex* all_at(const Problem& pb, int jest, int a, int c) const {
    return all[jest].data() + (static_cast<std::size_t>(a) * pb.channels + c) * bins;
  }
  const Complex* own_at(const Problem& pb, int jtrue, int jest, int ck, int c) const {
    return own[static_cast<std::size_t>(jtrue) * pb.sources + jest].data() +
           (static_cast<std::size_t>(ck) * pb.channels + c) * bins;
  }
};

FilterSpectra filter_spectra(const Problem& pb, const Filters& f, int fft, Eigen::FFT<double>& transform) {
  const int L = pb.filters_len, M = pb.signals(), C = pb.channels;
  FilterSpectra s;
  s.fft = fft;
  s.bins = fft / 2 + 1;
  std::vector<double> taps(fft, 0.0);
  auto transform_column = [&](const Eigen::MatrixXd& m, Eigen::Index row, Eigen::Index col, Complex* out) {
    std::fill(taps.begin(), taps.end(), 0.0);
    for (int p = 0; p < L; ++p) taps[p] = m(row + p, col);
    transform.fwd(out, taps.data(), fft);
  };
  s.all.resize(static_cast<std::size_t>(pb.sources));
  for (int jest = 0; jest < pb.sources; ++jest) {
    if (!pb.need_estimate[jest]) continue;
    s.all[jest].resize(static_cast<std::size_t>(M) * C * s.bins);
    for (int a = 0; a < M; ++a)
      for (int c = 0; c < C; ++c)
        transform_column(f.all, static_cast<Eigen::Index>(a) * L, static_cast<Eigen::Index>(jest) * C + c,
                         s.all[jest].data() + (static_cast<std::size_t>(a) * C + c) * s.bins);
  }
  s.own.resize(f.own.size());
  for (int jtrue = 0; jtrue < pb.sources; ++jtrue)
    for (int jest = 0; jest < pb.sources; ++jest) {
      if (!pb.needed(jtrue, jest)) continue;
      auto& dst = s.own[static_cast<std::size_t>(jtrue) * pb.sources + jest];
      const auto& own = f.own[static_cast<std::size_t>(jtrue) * pb.sources + jest];
      dst.resize(static_cast<std::size_t>(C) * C * s.bins);
      for (int ck = 0; ck < C; ++ck)
        for (int c = 0; c < C; ++c)
          transform_column(own, static_cast<Eigen::Index>(ck) * L, c,
                           dst.data() + (static_cast<std::size_t>(ck) * C + c) * s.bins);
    }
  return s;
}

// acc += a * b over `bins` complex values, in plain real arithmetic.
void multiply_add(const Complex* a, const Complex* b, Complex* acc, int bins) {
  const double* x = reinterpret_cast<const double*>(a);
  const double* y = reinterpret_cast<const double*>(b);
  double* s = reinterpret_cast<double*>(acc);
  for (int f = 0; f < 2 * bins; f += 2) {
    s[f] += x[f] * y[f] - x[f + 1] * y[f + 1];
    s[f + 1] += x[f] * y[f + 1] + x[f + 1] * y[f];
  }
}

// Per-thread work buffers for one frame.
struct FrameWork {
  Eigen::FFT<double> transform;
  std::vector<double> time;
  std::vector<Complex> refs, sum;            // reference spectra [a][bins]; one accumulated spectrum
  std::vector<std::vector<double>> projall;  // [jest * channels + c] -> frame + L - 1 samples
  std::vector<double> projown;               // [c] * (frame + L - 1)
  FrameWork() { transform.SetFlag(Eigen::FFT<double>::HalfSpectrum); }
};

// Scores of frame [start, start + w) into scores[metric][jtrue][jest][frame] for every needed pair:
// museval's _bss_decomp_mtifilt and _bss_crit (images version), term for term.
void score_frame(const Problem& pb, const FilterSpectra& fs, std::int64_t start, std::int64_t w, int frame, int frames,
                 FrameWork& work, std::vector<double>& scores) {
  const int M = pb.signals(), C = pb.channels, S = pb.sources, bins = fs.bins;
  const std::int64_t span = w + pb.filters_len - 1;
  work.time.assign(fs.fft, 0.0);
  work.refs.resize(static_cast<std::size_t>(M) * bins);
  work.sum.resize(bins);
  for (int a = 0; a < M; ++a) {
    std::fill(work.time.begin(), work.time.end(), 0.0);
    for (std::int64_t n = 0; n < w; ++n) work.time[n] = pb.ref_channels[a][start + n];
    work.transform.fwd(work.refs.data() + static_cast<std::size_t>(a) * bins, work.time.data(), fs.fft);
  }
  auto inverse_into = [&](double* out) {
    work.transform.inv(work.time.data(), work.sum.data(), fs.fft);
    std::copy(work.time.begin(), work.time.begin() + span, out);
  };
  work.projall.resize(static_cast<std::size_t>(S) * C);
  for (int jest = 0; jest < S; ++jest) {
    if (!pb.need_estimate[jest]) continue;
    for (int c = 0; c < C; ++c) {
      std::fill(work.sum.begin(), work.sum.end(), Complex(0.0, 0.0));
      for (int a = 0; a < M; ++a)
        multiply_add(work.refs.data() + static_cast<std::size_t>(a) * bins, fs.all_at(pb, jest, a, c), work.sum.data(),
                     bins);
      auto& out = work.projall[static_cast<std::size_t>(jest) * C + c];
      out.resize(span);
      inverse_into(out.data());
    }
  }
  work.projown.resize(static_cast<std::size_t>(C) * span);
  for (int jtrue = 0; jtrue < S; ++jtrue)
    for (int jest = 0; jest < S; ++jest) {
      if (!pb.needed(jtrue, jest)) continue;
      for (int c = 0; c < C; ++c) {
        std::fill(work.sum.begin(), work.sum.end(), Complex(0.0, 0.0));
        for (int ck = 0; ck < C; ++ck)
          multiply_add(work.refs.data() + static_cast<std::size_t>(jtrue * C + ck) * bins,
                       fs.own_at(pb, jtrue, jest, ck, c), work.sum.data(), bins);
        inverse_into(work.projown.data() + static_cast<std::size_t>(c) * span);
      }
      // Energies, in museval's order of operations: s_true (zero-padded reference), e_spat = P_own - s,
      // e_interf = P_all - s - e_spat, e_artif = -s - e_spat - e_interf + estimate.
      double e_true = 0, e_dist = 0, e_spat2 = 0, e_image = 0, e_interf2 = 0, e_target = 0, e_artif2 = 0;
      for (int c = 0; c < C; ++c) {
        const float* ref = pb.ref_channels[static_cast<std::size_t>(jtrue) * C + c] + start;
        const float* est = pb.est_channels[static_cast<std::size_t>(jest) * C + c] + start;
        const double* pown = work.projown.data() + static_cast<std::size_t>(c) * span;
        const double* pall = work.projall[static_cast<std::size_t>(jest) * C + c].data();
        for (std::int64_t n = 0; n < span; ++n) {
          const double s = n < w ? static_cast<double>(ref[n]) : 0.0;
          const double spat = pown[n] - s;
          const double interf = (pall[n] - s) - spat;
          double artif = (-s - spat) - interf;
          if (n < w) artif += static_cast<double>(est[n]);
          const double dist = (spat + interf) + artif;
          const double image = s + spat;
          const double target = image + interf;
          e_true += s * s;
          e_dist += dist * dist;
          e_spat2 += spat * spat;
          e_image += image * image;
          e_interf2 += interf * interf;
          e_target += target * target;
          e_artif2 += artif * artif;
        }
      }
      auto at = [&](Metric m) -> double& {
        return scores[((static_cast<std::size_t>(m) * S + jtrue) * S + jest) * frames + frame];
      };
      at(kSdr) = safe_db(e_true, e_dist);
      at(kIsr) = safe_db(e_true, e_spat2);
      at(kSir) = safe_db(e_image, e_interf2);
      at(kSar) = safe_db(e_target, e_artif2);
    }
}

// numpy.argmax: the first maximum, where NaN counts as the maximum.
int argmax_numpy(const std::vector<double>& v) {
  int best = 0;
  for (int i = 0; i < static_cast<int>(v.size()); ++i) {
    if (std::isnan(v[i])) return i;
    if (v[i] > v[best]) best = i;
  }
  return best;
}

void check_cancel(const BssEvalOptions& o) {
  if (o.cancel && o.cancel->load()) fail("bss_eval", "interrupted");
}

}  // namespace

BssEvalResult bss_eval(std::span<const PlanarSource> references, std::span<const PlanarSource> estimates, int channels,
                       std::int64_t length, const BssEvalOptions& options) {
  const char* where = "bss_eval";
  if (references.empty()) fail(where, "no reference sources");
  if (references.size() != estimates.size())
    fail(where, std::to_string(references.size()) + " references but " + std::to_string(estimates.size()) +
                    " estimates");
  if (channels < 1 || length < 1) fail(where, "empty signals");
  if (options.window < 1 || options.hop < 1) fail(where, "window and hop must be at least one sample");
  if (options.filters_len < 1) fail(where, "filters_len must be at least 1");
  if (!(options.regularization >= 0.0)) fail(where, "regularization must be >= 0");
  if (std::isnan(options.silence_db) || options.silence_db == std::numeric_limits<double>::infinity())
    fail(where, "silence_db must be a number of dB or -inf");
  const int S = static_cast<int>(references.size());
  const std::size_t total = static_cast<std::size_t>(channels) * static_cast<std::size_t>(length);
  for (int j = 0; j < S; ++j)
    for (const auto& [kind, src] : {std::pair{"reference", references[j]}, std::pair{"estimate", estimates[j]}}) {
      if (!std::all_of(src, src + total, [](float v) { return std::isfinite(v); }))
        fail(where, std::string(kind) + " " + std::to_string(j) + " has non-finite samples");
      if (is_silent(src, channels, length, 0, length))
        fail(where, std::string(kind) + " " + std::to_string(j) +
                        " is silent (all zeros): the evaluation would be ambiguous");
    }

  Problem pb;
  pb.sources = S;
  pb.channels = channels;
  pb.filters_len = options.filters_len;
  pb.regularization = options.regularization;
  pb.length = length;
  for (int j = 0; j < S; ++j)
    for (int c = 0; c < channels; ++c) {
      pb.ref_channels.push_back(references[j] + static_cast<std::size_t>(c) * length);
      pb.est_channels.push_back(estimates[j] + static_cast<std::size_t>(c) * length);
    }
  std::vector<int> order(static_cast<std::size_t>(S));
  std::iota(order.begin(), order.end(), 0);
  if (options.compute_permutation) {
    do pb.candidates.push_back(order);  // lexicographic, as itertools.permutations
    while (std::next_permutation(order.begin(), order.end()));
  } else {
    pb.candidates.push_back(order);
  }
  pb.need.assign(static_cast<std::size_t>(S) * S, 0);
  pb.need_estimate.assign(static_cast<std::size_t>(S), 0);
  for (const auto& cand : pb.candidates)
    for (int jtrue = 0; jtrue < S; ++jtrue) {
      pb.need[static_cast<std::size_t>(jtrue) * S + cand[jtrue]] = 1;
      pb.need_estimate[cand[jtrue]] = 1;
    }

  BssEvalResult result;
  result.sources = S;
  const int frames = frame_count(length, options.window, options.hop);
  result.frames = frames;
  for (int t = 0; t < frames; ++t) {
    const std::int64_t start = options.window < length ? t * options.hop : 0;
    const std::int64_t stop = std::min(start + options.window, length);
    result.frame_start.push_back(start);
    result.frame_length.push_back(stop - start);
  }

  // scores[metric][jtrue][jest][frame], NaN where not computed (silent frames).
  std::vector<double> scores(4 * static_cast<std::size_t>(S) * S * frames, kNaN);
  const bool framewise = options.framewise_filters;
  FilterSpectra shared;
  if (!framewise) {
    check_cancel(options);
    const Filters filters = estimate_filters(pb, 0, length);
    Eigen::FFT<double> transform;
    transform.SetFlag(Eigen::FFT<double>::HalfSpectrum);
    // museval's framing gives every frame the same length.
    shared = filter_spectra(pb, filters, fast_real_fft_size(result.frame_length[0] + pb.filters_len - 1), transform);
  }

  std::atomic<bool> cancelled{false};
  std::string error;
#pragma omp parallel
  {
    FrameWork work;
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < frames; ++t) {
      if (cancelled.load() || (options.cancel && options.cancel->load())) {
        cancelled = true;
        continue;
      }
      const std::int64_t start = result.frame_start[t], w = result.frame_length[t];
      bool silent = false;
      for (int j = 0; j < S && !silent; ++j)
        silent = is_silent(references[j], channels, length, start, start + w) ||
                 is_silent(estimates[j], channels, length, start, start + w) ||
                 (options.silence_db > -std::numeric_limits<double>::infinity() &&
                  power_db(references[j], channels, length, start, start + w) < options.silence_db);
      if (silent) continue;
      try {
        if (framewise) {
          const Filters filters = estimate_filters(pb, start, start + w);
          const FilterSpectra own =
              filter_spectra(pb, filters, fast_real_fft_size(w + pb.filters_len - 1), work.transform);
          score_frame(pb, own, start, w, t, frames, work, scores);
        } else {
          score_frame(pb, shared, start, w, t, frames, work, scores);
        }
      } catch (const std::exception& e) {
#pragma omp critical(bss_eval_error)
        error = e.what();
        cancelled = true;
      }
    }
  }
  if (!error.empty()) fail(where, error);
  check_cancel(options);
  if (cancelled) fail(where, "interrupted");

  // Best candidate order by mean SIR: one for the whole signal (v4), one per frame (v3).
  auto sir = [&](int jtrue, int jest, int t) {
    return scores[((static_cast<std::size_t>(kSir) * S + jtrue) * S + jest) * frames + t];
  };
  const int groups = framewise ? frames : 1;
  std::vector<int> best(static_cast<std::size_t>(groups), 0);
  if (pb.candidates.size() > 1)
    for (int g = 0; g < groups; ++g) {
      std::vector<double> mean_sir;
      for (const auto& cand : pb.candidates) {
        double sum = 0;
        int count = 0;
        for (int jtrue = 0; jtrue < S; ++jtrue)
          for (int t = framewise ? g : 0; t < (framewise ? g + 1 : frames); ++t, ++count) sum += sir(jtrue, cand[jtrue], t);
        mean_sir.push_back(sum / count);
      }
      best[g] = argmax_numpy(mean_sir);
    }
  result.permutation.resize(static_cast<std::size_t>(S) * groups);
  for (int j = 0; j < S; ++j)
    for (int g = 0; g < groups; ++g) result.permutation[static_cast<std::size_t>(j) * groups + g] = pb.candidates[best[g]][j];

  std::vector<double>* outs[4] = {&result.sdr, &result.isr, &result.sir, &result.sar};
  for (int m = 0; m < 4; ++m) {
    outs[m]->resize(static_cast<std::size_t>(S) * frames);
    for (int j = 0; j < S; ++j)
      for (int t = 0; t < frames; ++t) {
        const int jest = result.permutation[static_cast<std::size_t>(j) * groups + (framewise ? t : 0)];
        (*outs[m])[static_cast<std::size_t>(j) * frames + t] =
            scores[((static_cast<std::size_t>(m) * S + j) * S + jest) * frames + t];
      }
  }
  return result;
}

BssEvalResult bss_eval(const std::vector<Audio>& references, const std::vector<Audio>& estimates,
                       const BssEvalOptions& options) {
  if (references.empty()) fail("bss_eval", "no reference sources");
  const Audio& first = references.front();
  auto check = [&](const Audio& a, const char* kind, std::size_t j) {
    if (a.channels != first.channels || a.frames != first.frames)
      fail("bss_eval", std::string(kind) + " " + std::to_string(j) + " has " + std::to_string(a.channels) + " x " +
                           std::to_string(a.frames) + " samples, reference 0 has " + std::to_string(first.channels) +
                           " x " + std::to_string(first.frames));
  };
  std::vector<PlanarSource> refs, ests;
  for (std::size_t j = 0; j < references.size(); ++j) {
    check(references[j], "reference", j);
    refs.push_back(references[j].samples.data());
  }
  for (std::size_t j = 0; j < estimates.size(); ++j) {
    check(estimates[j], "estimate", j);
    ests.push_back(estimates[j].samples.data());
  }
  return bss_eval(refs, ests, first.channels, first.frames, options);
}

}  // namespace unmix::eval
