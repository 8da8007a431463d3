#pragma once
// CPU reference layers of Open-Unmix, each an explicit forward and backward.
//
// Activation layout everywhere: a column-major [features, N] matrix with one column per (frame, sample)
// pair, column n = t * batch + b. Its memory equals PyTorch's row-major (T, B, features) tensor, the layout
// openunmix's forward uses after `x.permute(3, 0, 1, 2)`. Weights are PyTorch's row-major [out, in]
// tensors, which Eigen sees as column-major [in, out] (the transpose) without copying.
//
// Backward functions ACCUMULATE into parameter gradients (like autograd's .grad), and overwrite input
// gradients. Every layer is templated on the scalar so the finite-difference checks can run in double.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <random>
#include <span>

namespace unmix::cpu {

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T>
using MatMap = Eigen::Map<Mat<T>>;
template <typename T>
using ConstMatMap = Eigen::Map<const Mat<T>>;
template <typename T>
using VecMap = Eigen::Map<Vec<T>>;
template <typename T>
using ConstVecMap = Eigen::Map<const Vec<T>>;

// ---- input: crop to max_bin, then (x + input_mean) * input_scale (openunmix's order) ----
// mix: [N, channels, nb_bins] magnitudes (row-major) -> x: [channels * max_bin, N]
template <typename T>
void input_norm_forward(const T* mix, int n, int channels, int nb_bins, int max_bin, const T* mean,
                        const T* scale, Mat<T>& x);
// dx: [channels * max_bin, N]; accumulates d_mean, d_scale (length max_bin); d_mix (optional, may be
// null) receives the input gradient, zero above max_bin.
template <typename T>
void input_norm_backward(const Mat<T>& dx, const T* mix, int channels, int nb_bins, int max_bin, const T* mean,
                         const T* scale, T* d_mean, T* d_scale, T* d_mix);

// ---- linear without bias: y = W x, W row-major [out, in] ----
template <typename T>
void linear_forward(const Mat<T>& x, const T* weight, int out_features, Mat<T>& y);
template <typename T>
void linear_backward(const Mat<T>& dy, const Mat<T>& x, const T* weight, int out_features, Mat<T>* dx,
                     T* d_weight);

// ---- BatchNorm1d over the N columns of [C, N] ----
struct BatchNormOptions {
  double momentum = 0.1;
  double eps = 1e-5;
};
template <typename T>
struct BatchNormCache {
  Vec<T> mean;      // batch mean (train) or running mean (eval)
  Vec<T> inv_std;   // 1 / sqrt(var + eps), biased batch variance in training
};
// Data parallelism: when the batch is split across processes, `across` adds a buffer over all of them in
// place (the same result on each). BatchNorm then works on the statistics of the whole batch (PyTorch's
// SyncBatchNorm): mean and variance in the forward, sum(dy) and sum(dy * xhat) in the backward, so every
// shard is normalized exactly as it would be in one process. The parameter gradients it accumulates are
// still this shard's share (the gradient all-reduce adds the shares). nullptr: one process, the whole batch.
using SumAcross = std::function<void(std::span<double>)>;

// Training: normalizes with batch statistics and updates running stats in place (unbiased variance,
// as PyTorch does). Needs N > 1 (over the whole batch).
template <typename T>
void batchnorm_train_forward(const Mat<T>& x, const T* gamma, const T* beta, T* running_mean, T* running_var,
                             const BatchNormOptions& opt, Mat<T>& y, BatchNormCache<T>& cache,
                             const SumAcross* across = nullptr);
template <typename T>
void batchnorm_eval_forward(const Mat<T>& x, const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, const BatchNormOptions& opt, Mat<T>& y, BatchNormCache<T>& cache);
template <typename T>
void batchnorm_train_backward(const Mat<T>& dy, const Mat<T>& x, const T* gamma, const BatchNormCache<T>& cache,
                              Mat<T>& dx, T* d_gamma, T* d_beta, const SumAcross* across = nullptr);
template <typename T>
void batchnorm_eval_backward(const Mat<T>& dy, const Mat<T>& x, const T* gamma, const BatchNormCache<T>& cache,
                             Mat<T>& dx, T* d_gamma, T* d_beta);

// ---- activations ----
template <typename T>
void tanh_forward(const Mat<T>& x, Mat<T>& y);
template <typename T>
void tanh_backward(const Mat<T>& dy, const Mat<T>& y, Mat<T>& dx);  // uses the output: 1 - y^2
template <typename T>
void relu_forward(const Mat<T>& x, Mat<T>& y);
template <typename T>
void relu_backward(const Mat<T>& dy, const Mat<T>& x, Mat<T>& dx);  // derivative 0 at x == 0, as PyTorch

// ---- dropout (inverted: kept units scaled by 1 / (1 - p)) ----
// mask holds 0 or 1 / (1 - p); y = x * mask.
template <typename T>
void dropout_forward(const Mat<T>& x, double p, std::mt19937_64& rng, Mat<T>& mask, Mat<T>& y);
// The same for a shard of a batch split across processes: x holds items [offset, offset + batch) of
// a batch of `global_batch` (columns t * batch + b). The mask is drawn for the whole [features, T *
// global_batch] batch, in dropout_forward's order, and this shard's columns kept, so every process draws
// the same stream and each item gets the mask one process would give it.
template <typename T>
void dropout_forward_shard(const Mat<T>& x, double p, std::mt19937_64& rng, int batch, int offset, int global_batch,
                           Mat<T>& mask, Mat<T>& y);
template <typename T>
void dropout_backward(const Mat<T>& dy, const Mat<T>& mask, Mat<T>& dx);

// ---- one bidirectional LSTM layer (PyTorch gate order i, f, g, o; two biases) ----
template <typename T>
struct LstmDirection {
  const T* w_ih;  // [4H, in] row-major
  const T* w_hh;  // [4H, H]
  const T* b_ih;  // [4H]
  const T* b_hh;  // [4H]
};
template <typename T>
struct LstmDirectionGrads {
  T* w_ih;
  T* w_hh;
  T* b_ih;
  T* b_hh;
};
template <typename T>
struct LstmCache {
  Mat<T> gates[2];  // activated gates [4H, N] per direction (i, f, g, o blocks)
  Mat<T> cells[2];  // cell states [H, N]
  // backward scratch, kept so a training loop does not allocate (and page in) them every step
  Mat<T> d_gates[2], h_prev_all[2], dx_direction[2];
};
// x: [in, T * B] -> y: [2H, T * B], forward direction in rows [0, H), reverse in [H, 2H). Zero initial state.
template <typename T>
void bilstm_layer_forward(const Mat<T>& x, int frames, int batch, int hidden, const LstmDirection<T> dirs[2],
                          Mat<T>& y, LstmCache<T>& cache);
template <typename T>
void bilstm_layer_backward(const Mat<T>& dy, const Mat<T>& x, const Mat<T>& y, int frames, int batch, int hidden,
                           const LstmDirection<T> dirs[2], LstmCache<T>& cache,
                           const LstmDirectionGrads<T> grads[2], Mat<T>& dx);

// ---- output: relu(z * output_scale + output_mean) * mix ----
// z: [channels * nb_bins, N] (BN3 output), mix and out: [N, channels, nb_bins] row-major (same memory layout).
template <typename T>
void output_mask_forward(const Mat<T>& z, const T* mix, int channels, int nb_bins, const T* scale, const T* mean,
                         T* out);
template <typename T>
void output_mask_backward(const T* d_out, const Mat<T>& z, const T* mix, int channels, int nb_bins, const T* scale,
                          const T* mean, Mat<T>& dz, T* d_scale, T* d_mean);

// ---- loss: mean squared error over all elements ----
template <typename T>
double mse_loss_forward(const T* prediction, const T* target, std::size_t count);
template <typename T>
void mse_loss_backward(const T* prediction, const T* target, std::size_t count, T scale, T* d_prediction);

}  // namespace unmix::cpu
