// Mean squared error over every element (torch.nn.functional.mse_loss, reduction="mean").
#include "unmix/cpu/layers.h"

namespace unmix::cpu {

template <typename T>
double mse_loss_forward(const T* prediction, const T* target, std::size_t count) {
  double sum = 0;  // double accumulation: deterministic and close to PyTorch's pairwise float sum
  for (std::size_t i = 0; i < count; ++i) {
    const double d = static_cast<double>(prediction[i]) - static_cast<double>(target[i]);
    sum += d * d;
  }
  return count ? sum / static_cast<double>(count) : 0.0;
}

// d_prediction = scale * 2 (prediction - target) / count; scale is the upstream gradient (1 for a loss).
template <typename T>
void mse_loss_backward(const T* prediction, const T* target, std::size_t count, T scale, T* d_prediction) {
  const T k = scale * T(2) / static_cast<T>(count);
  for (std::size_t i = 0; i < count; ++i) d_prediction[i] = k * (prediction[i] - target[i]);
}

#define UNMIX_INSTANTIATE(T)                                                       \
  template double mse_loss_forward<T>(const T*, const T*, std::size_t);           \
  template void mse_loss_backward<T>(const T*, const T*, std::size_t, T, T*);
UNMIX_INSTANTIATE(float)
UNMIX_INSTANTIATE(double)
#undef UNMIX_INSTANTIATE

}  // namespace unmix::cpu
