// Fused Adam over the flat trainable-parameter buffer, PyTorch semantics (the CPU twin's arithmetic, op by op).
#include <cmath>

#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {
struct AdamScalars {
  float beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, bias_correction2_sqrt, eps, weight_decay;
};

__global__ void adam_kernel(float* params, const float* grads, float* exp_avg, float* exp_avg_sq, std::size_t count,
                            AdamScalars s) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const float p = params[i];
    const float g = s.weight_decay != 0.f ? grads[i] + s.weight_decay * p : grads[i];
    const float m = exp_avg[i] * s.beta1 + s.one_minus_beta1 * g;
    const float v = exp_avg_sq[i] * s.beta2 + s.one_minus_beta2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    const float denom = sqrtf(v) / s.bias_correction2_sqrt + s.eps;
    params[i] = p - s.step_size * (m / denom);
  }
}
}  // namespace

void launch_adam(float* params, const float* grads, float* exp_avg, float* exp_avg_sq, std::size_t count,
                 std::int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
                 cudaStream_t stream) {
  if (count == 0) return;
  const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  const AdamScalars s{static_cast<float>(beta1),
                      static_cast<float>(beta2),
                      static_cast<float>(1.0 - beta1),
                      static_cast<float>(1.0 - beta2),
                      static_cast<float>(lr / bias_correction1),
                      static_cast<float>(std::sqrt(bias_correction2)),
                      static_cast<float>(eps),
                      static_cast<float>(weight_decay)};
  adam_kernel<<<detail::blocks_for(count), detail::kThreads, 0, stream>>>(params, grads, exp_avg, exp_avg_sq, count, s);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu
