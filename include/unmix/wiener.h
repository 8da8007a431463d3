#pragma once
// Multichannel Wiener post-filter, exactly openunmix's filtering.wiener as its Separator calls it:
//
//   1. Initial source estimates from the target magnitudes, either with the mixture's phase (ratio,
//      the default) or as soft masks on the mixture (softmask).
//   2. Optionally a residual source: the complex mixture minus the sum of the targets.
//   3. `iterations` rounds of expectation maximization with a 2x2 (stereo) or 1x1 (mono) spatial
//      covariance matrix per source and bin: power v_j(t, f) = channel mean of |y_j|^2, covariance
//      R_j(f) = sum_t y_j y_j^H / (eps + sum_t v_j), mixture model Cxx = sqrt(eps) I + sum_j v_j R_j, and
//      new estimates y_j = v_j R_j Cxx^-1 x. Before the EM the mixture and the estimates are divided by
//      max(1, max|x| / scale_factor) and multiplied back afterwards, as openunmix does.
//   With iterations == 0 the initial estimates are returned unscaled.
//
// The Separator runs this independently on windows of `window_frames` frames starting at frame 0; the
// scaling and the covariances are per window. Arithmetic is double precision (openunmix works in the
// dtype of its input, float32 in practice; the two agree to about 1e-6).
//
// One deliberate difference: openunmix's atan2 adds 1 to the real part of the mixture, in place, wherever
// a bin is exactly 0 + 0i, which leaks into the residual and the EM. Here such a bin keeps the value 0
// (its phase is taken as 0, as openunmix's atan2 also returns).
#include <complex>
#include <span>
#include <vector>

#include "unmix/stft.h"

namespace unmix {

struct WienerOptions {
  int iterations = 1;        // EM iterations; 0 keeps the initial estimates
  bool softmask = false;     // initial estimates as soft masks instead of magnitude + mixture phase
  bool residual = false;     // add a source: mixture minus the targets
  int window_frames = 300;   // frames filtered together (openunmix wiener_win_len); 0: all frames at once
  double eps = 1e-10;        // regularization (openunmix's default)
  double scale_factor = 10.0;  // mixture scaled to at most this magnitude before the EM

  void validate() const;  // throws unmix::Error naming the bad field
};

// Target magnitudes for the filter: one [frames][channels][bins] block per target (the model's output
// layout for a batch of one). `channels` is either the mixture's channel count or 1, in which case the
// single magnitude applies to every mixture channel (a mono model on a stereo mixture, as openunmix
// broadcasts it).
struct TargetMagnitudes {
  std::vector<const float*> targets;
  int channels = 0;
};

// Filters `mix` ([channels][frames][bins], 1 or 2 channels) window by window. Returns one spectrogram per
// source, shaped like `mix`: the targets in order, then the residual when options.residual.
std::vector<ComplexSpectrogram> wiener(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes,
                                       const WienerOptions& options);
// The same into `sources`, reusing their storage (no allocation when the shape repeats, as in chunks).
// Each source gets `leading_frames` extra frames in front of the filtered ones, which the filter leaves
// for the caller to fill (the separator puts the previous chunk's overlapping frames there).
void wiener(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes, const WienerOptions& options,
            std::vector<ComplexSpectrogram>& sources, int leading_frames = 0);

// Shapes `sources` as `count` spectrograms like `mix` with `leading_frames` more frames, keeping their
// storage where it is large enough.
void shape_sources(const ComplexSpectrogram& mix, int count, std::vector<ComplexSpectrogram>& sources,
                   int leading_frames = 0);

// Number of sources wiener() returns.
inline int wiener_source_count(int targets, const WienerOptions& options) {
  return targets + (options.residual ? 1 : 0);
}

}  // namespace unmix
