#pragma once
// The Wiener post-filter's stages (unmix/wiener.h), one function per stage, on a block of one window's
// frames and a few dozen neighbouring bins. This is the CPU reference of the GPU kernels in
// kernels/wiener_em.cu, stage for stage (the GPU tests hold each one), and unmix::wiener() is these stages
// run over every (window, block of bins):
//
//   window_peak        max |x|^2 over a window                    twin of launch_wiener_peak
//   initial_estimates  x / scale, y_j from the magnitudes         twin of launch_wiener_initial_estimates
//   covariance         v_j(t, f), R_j(f) from the estimates       twin of launch_wiener_covariance
//   update             y_j = v_j R_j Cxx^-1 x (then * out_scale)  twin of launch_wiener_update
//
// Within a window every bin is independent, so a block of bins is the whole problem for those bins. The
// arithmetic is double precision on structure-of-arrays planes with the bins innermost, which the compiler
// vectorizes.
#include <complex>
#include <cstddef>
#include <vector>

#include "unmix/stft.h"
#include "unmix/wiener.h"

namespace unmix::wiener_stages {

constexpr int kBlockBins = 32;  // bins per block: one contiguous run of a frame's bins

// Complex values as separate real and imaginary planes.
struct Planes {
  std::vector<double> re, im;
  void resize(std::size_t n) {
    re.resize(n);
    im.resize(n);
  }
  std::complex<double> at(std::size_t i) const { return {re[i], im[i]}; }
};

// Frames [first, first + frames) x bins [bin0, bin0 + bins) of a window, `channels` (1 or 2) mixture
// channels and `sources` sources (targets, then the residual). Every index function gives the offset of the
// block's bin 0; bin b of the block is at offset + b.
struct Block {
  int channels = 0, sources = 0, targets = 0;
  int first = 0, frames = 0, bin0 = 0, bins = 0;
  Planes x;                 // [frame][channel]: the mixture divided by the window's scale
  Planes y;                 // [source][frame][channel]: the current estimates, at the mixture's scale in x
  std::vector<double> v;    // [source][frame]: power spectral density, the channel mean of |y_j|^2
  Planes R;                 // [source][row][col]: spatial covariance R_j(f)
  Planes cxx, inv, out;     // scratch of update: [row][col], [row][col], [channel]
  std::vector<double> weight, total;  // scratch: [bin]

  std::size_t xi(int t, int c) const { return (static_cast<std::size_t>(t) * channels + c) * kBlockBins; }
  std::size_t yi(int j, int t, int c) const {
    return ((static_cast<std::size_t>(j) * frames + t) * channels + c) * kBlockBins;
  }
  std::size_t vi(int j, int t) const { return (static_cast<std::size_t>(j) * frames + t) * kBlockBins; }
  std::size_t ri(int j, int row, int col) const {
    return ((static_cast<std::size_t>(j) * channels + row) * channels + col) * kBlockBins;
  }
  // Sizes the planes; keeps their storage when it is large enough.
  void shape(int channels, int targets, int sources, int first, int frames, int bin0, int bins);
};

// max |x|^2 over the window's frames, bins and channels.
double window_peak(const ComplexSpectrogram& mix, int first, int frames);
// openunmix's scaling before the EM: max(1, max|x| / scale_factor).
double window_scale(double peak, double scale_factor);

// Loads x = mix / scale for the block and sets the initial estimates: the target magnitudes with the
// mixture's phase (a silent bin has phase 0), or soft masks on the mixture; then the residual, x minus the
// targets.
void initial_estimates(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes, const WienerOptions& options,
                       double scale, Block& block);
// Power spectral densities v_j and spatial covariances R_j(f) = sum_t y_j y_j^H / (eps + sum_t v_j).
void covariance(const WienerOptions& options, Block& block);
// Re-separates every frame: Cxx = sqrt(eps) I + sum_j v_j R_j, y_j = v_j R_j Cxx^-1 x, times out_scale
// (the window's scale after the last iteration, else 1).
void update(const WienerOptions& options, double out_scale, Block& block);
// Writes the block's estimates into `sources` (shaped by shape_sources) after `leading_frames`.
void store(const Block& block, int leading_frames, std::vector<ComplexSpectrogram>& sources);

}  // namespace unmix::wiener_stages
