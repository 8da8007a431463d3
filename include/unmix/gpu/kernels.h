#pragma once
// Host launchers for the hand-written kernels in kernels/, one stage per file. Each has a CPU twin
// (named in its comment) and a GPU-vs-CPU test in tests/gpu/. Pointers are device pointers; every launcher
// enqueues on `stream` and checks the launch.
//
// Layouts follow the CPU reference: activations are column-major [features, N] with column n = t * B + b;
// spectrogram magnitudes are [frames][batch][channels][bins]; complex STFT frames are
// [signals][frames][bins] with signal s = b * channels + c.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace unmix::gpu {

// Interleaved complex float, the layout of cufftComplex and std::complex<float>; 8-byte aligned so a kernel
// loads it in one access.
struct alignas(8) Complex {
  float re, im;
};

// ---- STFT framing (twin: Stft::forward's framing): reflect padding when center, periodic Hann window.
// audio [signals][length] -> frames [signals][n_frames][n_fft]
void launch_stft_frames(const float* audio, int signals, std::int64_t length, int n_frames, int n_fft, int hop,
                        bool center, const float* window, float* frames, cudaStream_t stream);

// ---- ISTFT (twin: Stft::inverse).
// Copies a spectrum for cuFFT's C2R (which may overwrite its input) and drops the imaginary parts of the DC
// and Nyquist bins, as irfft does.
void launch_istft_prepare(const Complex* spectrum, std::size_t frames_total, int bins, Complex* scratch,
                          cudaStream_t stream);
// frames: unscaled C2R output [signals][n_frames][n_fft]; out [signals][length]. Gathers the overlapping
// frames of every output sample (deterministic, no atomics), divides by n_fft and the window-square sum.
void launch_istft_overlap_add(const float* frames, int signals, int n_frames, int n_fft, int hop, bool center,
                              std::int64_t length, const float* window, float* out, cudaStream_t stream);

// ---- Magnitude + crop + input normalization, fused (twins: magnitude_frame_major + input_norm_forward).
// spectrum [B*C][T][bins] -> mix [T][B][C][bins] (|X|, may be null) and x_in [T*B][C][max_bin] =
// (|X| + mean) * scale (may be null).
void launch_magnitude_input_norm(const Complex* spectrum, int batch, int channels, int frames, int bins, int max_bin,
                                 const float* mean, const float* scale, float* mix, float* x_in, cudaStream_t stream);
// From magnitudes already in [N][C][bins] (twin: input_norm_forward).
void launch_input_norm(const float* mix, int n, int channels, int bins, int max_bin, const float* mean,
                       const float* scale, float* x_in, cudaStream_t stream);
// Twin: input_norm_backward (accumulates d_mean, d_scale). partials: >= input_norm_partials_size() doubles.
std::size_t input_norm_partials_size(int n, int channels, int max_bin);
void launch_input_norm_backward(const float* dx, const float* mix, int n, int channels, int bins, int max_bin,
                                const float* mean, const float* scale, float* d_mean, float* d_scale,
                                double* partials, cudaStream_t stream);

// ---- BatchNorm1d over the N columns of [C, N], fused with the following activation.
enum class Activation { None, Tanh, Relu };
std::size_t batchnorm_partials_size(int channels, int n);
// Training statistics (twin: batchnorm_train_forward): mean, inv_std = 1/sqrt(biased var + eps); updates
// running_mean / running_var (unbiased) with momentum.
void launch_batchnorm_train_stats(const float* x, int channels, int n, double momentum, double eps, float* mean,
                                  float* inv_std, float* running_mean, float* running_var, double* partials,
                                  cudaStream_t stream);
// Evaluation statistics from the running ones (twin: batchnorm_eval_forward).
void launch_batchnorm_eval_stats(const float* running_mean, const float* running_var, int channels, double eps,
                                 float* mean, float* inv_std, cudaStream_t stream);
// y = act((x - mean) * inv_std * gamma + beta)   (twins: batchnorm_*_forward then tanh/relu_forward)
void launch_batchnorm_apply(const float* x, int channels, int n, const float* mean, const float* inv_std,
                            const float* gamma, const float* beta, Activation act, float* y, cudaStream_t stream);
// Backward through act and BN (twins: tanh/relu_backward then batchnorm_*_backward). `y` is the forward
// output (used for tanh). training selects batch-statistics backward. Accumulates d_gamma, d_beta; writes dx.
// coefficients: >= 3 * channels floats of scratch.
void launch_batchnorm_backward(const float* dy, const float* x, const float* y, int channels, int n,
                               const float* mean, const float* inv_std, const float* gamma, const float* beta,
                               Activation act, bool training, float* dx, float* d_gamma, float* d_beta,
                               double* partials, float* coefficients, cudaStream_t stream);

// ---- Output stage: out = relu(z * scale + mean) * mix (twin: output_mask_forward/backward).
// z, mix, out: [N][channels][bins]
void launch_output_mask_forward(const float* z, const float* mix, int n, int channels, int bins, const float* scale,
                                const float* mean, float* out, cudaStream_t stream);
std::size_t output_mask_partials_size(int n, int channels, int bins);
void launch_output_mask_backward(const float* d_out, const float* z, const float* mix, int n, int channels, int bins,
                                 const float* scale, const float* mean, float* dz, float* d_scale, float* d_mean,
                                 double* partials, cudaStream_t stream);

// ---- MSE loss (twin: mse_loss_forward/backward). Deterministic two-level reduction in double.
std::size_t mse_partials_size(std::size_t count);
// Writes the mean squared error to *loss (device double).
void launch_mse_loss(const float* prediction, const float* target, std::size_t count, double* partials, double* loss,
                     cudaStream_t stream);
void launch_mse_loss_backward(const float* prediction, const float* target, std::size_t count, float scale,
                              float* d_prediction, cudaStream_t stream);

// ---- Dropout between LSTM layers (twin: dropout_forward/backward with the same mask).
// mask[i] = 1/(1-p) with probability 1-p else 0, from a counter-based hash of (seed, i): reproducible and
// independent of the launch configuration. y = x * mask.
void launch_dropout_forward(const float* x, std::size_t count, float p, std::uint64_t seed, float* mask, float* y,
                            cudaStream_t stream);
void launch_dropout_backward(const float* dy, const float* mask, std::size_t count, float* dx, cudaStream_t stream);

// ---- Adam over a flat buffer with PyTorch semantics (twin: cpu::adam_step). `step` is the step number
// after incrementing (1 for the first update).
void launch_adam(float* params, const float* grads, float* exp_avg, float* exp_avg_sq, std::size_t count,
                 std::int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
                 cudaStream_t stream);

// ---- NaN/Inf count (twin: cpu::count_non_finite): adds how many of values[0, count) are NaN or infinite to
// *counter (device), which the caller zeroes. One atomic per block; the sum does not depend on the order.
void launch_count_non_finite(const float* values, std::size_t count, unsigned long long* counter,
                             cudaStream_t stream);

// ---- Copies between the flat parameter buffer and cuDNN's weight space.
struct CopySegment {
  std::int64_t src, dst, count;  // element offsets
};
// segments: device array of `segment_count` entries.
void launch_copy_segments(const float* src, float* dst, const CopySegment* segments, int segment_count,
                          std::int64_t max_count, cudaStream_t stream);

// ---- Wiener post-filter (twins: the stages of unmix/wiener_stages.h). Layouts as on the CPU: mixture
// [channels][frames][bins], target magnitudes [targets][frames][magnitude_channels][bins], estimates
// [sources][channels][frames][bins] (the targets, then the residual).
struct WienerArgs {
  const Complex* mix = nullptr;
  const float* magnitudes = nullptr;
  Complex* sources = nullptr;
  float* power = nullptr;          // [sources][frames][bins]: v_j(t, f)
  Complex* covariance = nullptr;   // [sources][windows][bins][channels * channels]: R_j(f) per window
  unsigned int* peak = nullptr;    // [windows]: max |x|^2 as float bits (non-negative floats order as uints)
  int channels = 0, frames = 0, bins = 0;
  int targets = 0, sources_count = 0, magnitude_channels = 0;
  int window = 0, windows = 0;     // frames per Wiener window, and their number
  bool softmask = false, residual = false;
  bool scaled = false;  // EM iterations follow: work on the mixture divided by max(1, max|x| / scale_factor)
  float eps = 1e-10f, scale_factor = 10.f;
};
// max |x|^2 per window into args.peak, which must be zeroed first (twin: window_peak).
void launch_wiener_peak(const WienerArgs& args, cudaStream_t stream);
// Initial estimates, divided by the window's scale when args.scaled (twin: initial_estimates).
void launch_wiener_initial_estimates(const WienerArgs& args, cudaStream_t stream);
// v_j and R_j of every source and window (twin: covariance).
void launch_wiener_covariance(const WienerArgs& args, cudaStream_t stream);
// One EM re-separation; `last` multiplies the result back by the window's scale (twin: update).
void launch_wiener_update(const WienerArgs& args, bool last, cudaStream_t stream);

}  // namespace unmix::gpu
