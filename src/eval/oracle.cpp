// Complex arithmetic in the per-bin Wiener filters without the C99 NaN/inf recovery path (__muldc3);
// the spectrograms are finite.
#pragma GCC optimize("cx-limited-range")
#include "unmix/eval/oracle.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <complex>
#include <limits>

#include "unmix/error.h"
#include "unmix/stft.h"

namespace unmix::eval {

namespace {

// numpy's float eps, which sigsep's oracles add to every denominator.
constexpr double kEps = std::numeric_limits<double>::epsilon();
// Diagonal load of the trace-normalized spatial covariances. sigsep adds eps, enough for its float64
// spectrograms; ours are float32, whose rounding leaves a panned source ~1e-7 off its spatial direction,
// and 1/eps would blow that up in the refined power. 1e-6 is far below any real spatial spread.
constexpr double kSpatialLoad = 1e-6;

void check_shapes(const std::vector<Audio>& sources, const Audio& mixture) {
  if (sources.empty()) fail("oracle", "no sources");
  if (mixture.channels < 1 || mixture.channels > 2) fail("oracle", "needs mono or stereo audio");
  for (std::size_t j = 0; j < sources.size(); ++j)
    if (sources[j].channels != mixture.channels || sources[j].frames != mixture.frames ||
        sources[j].sample_rate != mixture.sample_rate)
      fail("oracle", "source " + std::to_string(j) + " differs from the mixture in rate, channels or length");
}

Audio with_samples(const Audio& shape, std::vector<float> samples) {
  Audio a;
  a.sample_rate = shape.sample_rate;
  a.channels = shape.channels;
  a.frames = shape.frames;
  a.samples = std::move(samples);
  return a;
}

ComplexSpectrogram analyze(const Stft& stft, const Audio& a) {
  return stft.forward(a.samples.data(), a.channels, a.frames, true);
}

Audio synthesize(const Stft& stft, const ComplexSpectrogram& spec, const Audio& shape) {
  std::vector<float> out(shape.samples.size());
  stft.inverse(spec, true, shape.frames, out.data());
  return with_samples(shape, std::move(out));
}

// IRM (binary = false): |S_j|^a / (eps + sum_k |S_k|^a).  IBM (binary = true): |S_j|^a / (eps + |X|^a) >= 0.5.
std::vector<Audio> masked(const std::vector<Audio>& sources, const Audio& mixture, double alpha, bool binary) {
  const Stft stft(2048, 1024);
  const ComplexSpectrogram mix = analyze(stft, mixture);
  const std::size_t cells = mix.data.size();
  std::vector<double> denominator(cells, kEps);
  if (binary) {
    for (std::size_t i = 0; i < cells; ++i) denominator[i] += std::pow(std::abs(mix.data[i]), alpha);
  } else {
    for (const Audio& s : sources) {
      const ComplexSpectrogram spec = analyze(stft, s);
      for (std::size_t i = 0; i < cells; ++i) denominator[i] += std::pow(std::abs(spec.data[i]), alpha);
    }
  }
  std::vector<Audio> estimates;
  for (const Audio& s : sources) {
    ComplexSpectrogram spec = analyze(stft, s);
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < cells; ++i) {
      double mask = std::pow(std::abs(spec.data[i]), alpha) / denominator[i];
      if (binary) mask = mask >= 0.5 ? 1.0 : 0.0;
      spec.data[i] = mix.data[i] * static_cast<float>(mask);
    }
    estimates.push_back(synthesize(stft, spec, mixture));
  }
  return estimates;
}

// Multichannel Wiener filter with the source model of sigsep's MWF.py: source j has a time-frequency
// power v_j(f, t) and a per-bin spatial covariance R_j(f) (trace-normalized), learnt from its true STFT;
// the estimate is v_j R_j (sum_k v_k R_k)^-1 x.
template <int C>
std::vector<Audio> wiener(const std::vector<Audio>& sources, const Audio& mixture) {
  using Vec = Eigen::Matrix<std::complex<double>, C, 1>;
  using Mat = Eigen::Matrix<std::complex<double>, C, C>;
  const Stft stft(4096, 2048);
  const ComplexSpectrogram mix = analyze(stft, mixture);
  const int frames = mix.frames, bins = mix.bins;
  const std::size_t tf = static_cast<std::size_t>(frames) * bins;
  auto vec_at = [&](const ComplexSpectrogram& s, int t, int f) {
    Vec v;
    for (int c = 0; c < C; ++c) v(c) = std::complex<double>(s.frame(c, t)[f]);
    return v;
  };

  std::vector<std::vector<float>> power(sources.size());  // v_j, [t * bins + f]
  std::vector<std::vector<Mat>> spatial(sources.size());  // R_j(f)
  for (std::size_t j = 0; j < sources.size(); ++j) {
    const ComplexSpectrogram spec = analyze(stft, sources[j]);
    auto& v = power[j];
    v.resize(tf);
    for (int t = 0; t < frames; ++t)
      for (int f = 0; f < bins; ++f) v[static_cast<std::size_t>(t) * bins + f] = static_cast<float>(vec_at(spec, t, f).squaredNorm() / C);
    auto& R = spatial[j];
    R.assign(bins, Mat::Zero());
#pragma omp parallel for schedule(static)
    for (int f = 0; f < bins; ++f) {
      Mat sum = Mat::Zero();
      for (int t = 0; t < frames; ++t) {
        const Vec x = vec_at(spec, t, f);
        sum += x * x.adjoint() / (kEps + v[static_cast<std::size_t>(t) * bins + f]);
      }
      sum /= static_cast<double>(frames);
      const double trace = sum.trace().real();
      // A source silent in this bin has no spatial image; any covariance serves, take the identity.
      R[f] = (trace > 0 ? Mat(sum * (C / trace)) : Mat(Mat::Identity())) + kSpatialLoad * Mat::Identity();
      // Refined power: v = (1/C) x^H R^-1 x, exact for a source that follows the model.
      const Mat inverse = R[f].inverse();
      for (int t = 0; t < frames; ++t) {
        const Vec x = vec_at(spec, t, f);
        v[static_cast<std::size_t>(t) * bins + f] = static_cast<float>((x.adjoint() * inverse * x)(0, 0).real() / C);
      }
    }
  }

  std::vector<Audio> estimates;
  for (std::size_t j = 0; j < sources.size(); ++j) {
    ComplexSpectrogram out = mix;
#pragma omp parallel for schedule(static)
    for (int f = 0; f < bins; ++f)
      for (int t = 0; t < frames; ++t) {
        const std::size_t i = static_cast<std::size_t>(t) * bins + f;
        Mat cov = kEps * Mat::Identity();
        for (std::size_t k = 0; k < sources.size(); ++k) cov += static_cast<double>(power[k][i]) * spatial[k][f];
        const Vec y = static_cast<double>(power[j][i]) * spatial[j][f] * cov.inverse() * vec_at(mix, t, f);
        for (int c = 0; c < C; ++c) out.frame(c, t)[f] = std::complex<float>(y(c));
      }
    estimates.push_back(synthesize(stft, out, mixture));
  }
  return estimates;
}

}  // namespace

std::string_view oracle_name(OracleMethod method) {
  switch (method) {
    case OracleMethod::IRM1: return "IRM1";
    case OracleMethod::IRM2: return "IRM2";
    case OracleMethod::IBM: return "IBM";
    case OracleMethod::MWF: return "MWF";
    case OracleMethod::Mixture: return "Mixture";
  }
  return "?";
}

bool parse_oracle(std::string_view name, OracleMethod& out) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "mix") lower = "mixture";
  for (OracleMethod m : all_oracles()) {
    std::string candidate(oracle_name(m));
    std::transform(candidate.begin(), candidate.end(), candidate.begin(), [](unsigned char c) { return std::tolower(c); });
    if (candidate == lower) {
      out = m;
      return true;
    }
  }
  return false;
}

std::vector<OracleMethod> all_oracles() {
  return {OracleMethod::IRM1, OracleMethod::IRM2, OracleMethod::IBM, OracleMethod::MWF, OracleMethod::Mixture};
}

std::vector<Audio> oracle_estimates(OracleMethod method, const std::vector<Audio>& sources, const Audio& mixture) {
  check_shapes(sources, mixture);
  switch (method) {
    case OracleMethod::IRM1: return masked(sources, mixture, 1.0, false);
    case OracleMethod::IRM2: return masked(sources, mixture, 2.0, false);
    case OracleMethod::IBM: return masked(sources, mixture, 1.0, true);
    case OracleMethod::MWF: return mixture.channels == 1 ? wiener<1>(sources, mixture) : wiener<2>(sources, mixture);
    case OracleMethod::Mixture: return std::vector<Audio>(sources.size(), mixture);
  }
  fail("oracle", "unknown method");
}

}  // namespace unmix::eval
