#pragma once
// BSSEval v4 (museval's metrics.bss_eval in images mode), per frame: SDR, ISR, SIR, SAR of every source.
//
// Each estimate is projected onto the space spanned by the references delayed by 0 .. filters_len-1
// samples (all references: the interference-inclusive projection; its own reference only: the spatial
// projection). The distortion filters come from the normal equations (G + eps I) C = D, with G the Gram
// matrix of the delayed references and D their correlations with the estimate, both computed by FFT.
// v4 (default) solves once over the whole track and applies the filters to every frame; v3
// (framewise_filters) solves anew on every frame. A frame in which any reference or any estimate is
// silent (museval: the sum over channels is zero at every sample) yields NaN for every source.
// Frames: museval's Framing, i.e. floor((length - window + hop) / hop) windows starting at k * hop, all
// of full length (a trailing partial window is dropped); a window at least as long as the signal gives
// one frame over the whole signal.
#include <atomic>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "unmix/audio.h"

namespace unmix::eval {

struct BssEvalOptions {
  std::int64_t window = 44100;  // samples per frame (museval.evaluate: 1 s at 44.1 kHz)
  std::int64_t hop = 44100;
  int filters_len = 512;
  bool framewise_filters = false;    // true: BSSEval v3 (filters re-estimated in every frame)
  bool compute_permutation = false;  // search the estimate order with the best mean SIR
  // Tikhonov load on the normal equations, relative to each reference channel's energy (their diagonal;
  // 0: museval's solve exactly). museval adds only the machine epsilon, so when a reference's Gram matrix is numerically
  // singular — typically a source whose channels are scaled copies of each other, stored as float or
  // 24-bit (a panned mono instrument), or a band-limited float signal — its filters fit rounding noise and
  // its ISR/SIR/SAR change by many dB with the track length or the FFT library. 1e-14 stays below what
  // 16-bit audio resolves (results move by < 0.001 dB there) and makes those cases reproducible.
  double regularization = 1e-14;
  // Frames in which a reference's mean power (over channels and samples, full scale 1) is below this many
  // dB count as silent too. museval knows only exact zeros (-inf, the default); rendered stems that are
  // tacet still carry reverb and plugin tails at -80 to -230 dBFS, where SDR says nothing about the
  // separation (see docs/evaluation.md). Estimates keep museval's exact test.
  double silence_db = -std::numeric_limits<double>::infinity();
  const std::atomic<bool>* cancel = nullptr;  // when set and true between frames: throws unmix::Error
};

// One source: `channels` planar blocks of `length` samples (the Audio layout).
using PlanarSource = const float*;

struct BssEvalResult {
  int sources = 0;
  int frames = 0;
  std::vector<std::int64_t> frame_start, frame_length;  // samples
  // [source][frame], in dB; NaN for silent frames; +inf where the error energy is exactly zero.
  std::vector<double> sdr, isr, sir, sar;
  // Estimate index matched to each reference: [source] (v4) or [source][frame] (v3).
  std::vector<int> permutation;

  double at(const std::vector<double>& metric, int source, int frame) const {
    return metric[static_cast<std::size_t>(source) * frames + frame];
  }
};

// Number of frames museval evaluates (Framing.nwin).
int frame_count(std::int64_t length, std::int64_t window, std::int64_t hop);

// museval's silence test on samples [begin, end) of one source: the sum over channels is zero everywhere.
bool is_silent(PlanarSource source, int channels, std::int64_t length, std::int64_t begin, std::int64_t end);

// Mean power of samples [begin, end) of one source in dB full scale (-inf for digital zeros).
double power_db(PlanarSource source, int channels, std::int64_t length, std::int64_t begin, std::int64_t end);

// references.size() == estimates.size() >= 1 sources of `channels` x `length` samples each.
// Throws unmix::Error for empty or mismatched input, non-finite samples, or a reference or estimate that
// is silent over the whole signal (museval raises there: the evaluation would be ambiguous).
BssEvalResult bss_eval(std::span<const PlanarSource> references, std::span<const PlanarSource> estimates, int channels,
                       std::int64_t length, const BssEvalOptions& options = {});

// Same, on Audio objects; every object must have the same channel count and length.
BssEvalResult bss_eval(const std::vector<Audio>& references, const std::vector<Audio>& estimates,
                       const BssEvalOptions& options = {});

}  // namespace unmix::eval
