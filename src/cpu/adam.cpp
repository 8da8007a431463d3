// Fused Adam over the flat parameter buffer, following torch.optim.Adam's single-tensor path op by op
// (float32 tensor arithmetic with double scalars folded into float factors).
#include "unmix/cpu/adam.h"

#include <cmath>

#include "unmix/error.h"

namespace unmix::cpu {

void AdamState::reset(std::size_t parameters) {
  exp_avg.assign(parameters, 0.f);
  exp_avg_sq.assign(parameters, 0.f);
  step = 0;
}

void adam_step(std::span<float> params, std::span<const float> grads, AdamState& state, const AdamOptions& o) {
  if (grads.size() != params.size() || state.exp_avg.size() != params.size() ||
      state.exp_avg_sq.size() != params.size())
    fail("adam", "parameter, gradient and moment sizes differ");
  state.step += 1;
  const double bias_correction1 = 1.0 - std::pow(o.beta1, static_cast<double>(state.step));
  const double bias_correction2 = 1.0 - std::pow(o.beta2, static_cast<double>(state.step));
  const float step_size = static_cast<float>(o.lr / bias_correction1);
  const float bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  const float beta1 = static_cast<float>(o.beta1), beta2 = static_cast<float>(o.beta2);
  const float one_minus_beta1 = static_cast<float>(1.0 - o.beta1), one_minus_beta2 = static_cast<float>(1.0 - o.beta2);
  const float eps = static_cast<float>(o.eps), weight_decay = static_cast<float>(o.weight_decay);
  float* m = state.exp_avg.data();
  float* v = state.exp_avg_sq.data();
  const std::size_t n = params.size();
#pragma omp parallel for simd schedule(static)
  for (std::size_t i = 0; i < n; ++i) {
    const float g = weight_decay != 0.f ? grads[i] + weight_decay * params[i] : grads[i];
    m[i] = m[i] * beta1 + one_minus_beta1 * g;
    v[i] = v[i] * beta2 + one_minus_beta2 * g * g;
    const float denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
    params[i] -= step_size * (m[i] / denom);
  }
}

}  // namespace unmix::cpu
