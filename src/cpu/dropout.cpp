// Inverted dropout between LSTM layers (training only), as torch.nn.LSTM(dropout=p) applies it.
#include "unmix/cpu/layers.h"

namespace unmix::cpu {

template <typename T>
void dropout_forward(const Mat<T>& x, double p, std::mt19937_64& rng, Mat<T>& mask, Mat<T>& y) {
  mask.resize(x.rows(), x.cols());
  std::bernoulli_distribution keep(1.0 - p);
  const T kept = static_cast<T>(1.0 / (1.0 - p));
  for (Eigen::Index i = 0; i < mask.size(); ++i) mask.data()[i] = keep(rng) ? kept : T(0);
  y = x.cwiseProduct(mask);
}

template <typename T>
void dropout_backward(const Mat<T>& dy, const Mat<T>& mask, Mat<T>& dx) {
  dx = dy.cwiseProduct(mask);
}

#define UNMIX_INSTANTIATE(T)                                                                    \
  template void dropout_forward<T>(const Mat<T>&, double, std::mt19937_64&, Mat<T>&, Mat<T>&); \
  template void dropout_backward<T>(const Mat<T>&, const Mat<T>&, Mat<T>&);
UNMIX_INSTANTIATE(float)
UNMIX_INSTANTIATE(double)
#undef UNMIX_INSTANTIATE

}  // namespace unmix::cpu
