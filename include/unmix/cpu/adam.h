#pragma once
// Adam with PyTorch's semantics (torch.optim.Adam, amsgrad off): L2 weight decay added to the gradient,
// bias-corrected moments, eps added after the bias-corrected square root.
#include <cstdint>
#include <span>
#include <vector>

namespace unmix::cpu {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

struct AdamState {
  std::vector<float> exp_avg;     // first moment, one per parameter
  std::vector<float> exp_avg_sq;  // second moment
  std::int64_t step = 0;
  void reset(std::size_t parameters);
};

// One update of params (in place) from grads; state must have been reset to params.size().
void adam_step(std::span<float> params, std::span<const float> grads, AdamState& state, const AdamOptions& options);

}  // namespace unmix::cpu
