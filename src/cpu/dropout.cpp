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
void dropout_forward_shard(const Mat<T>& x, double p, std::mt19937_64& rng, int batch, int offset, int global_batch,
                           Mat<T>& mask, Mat<T>& y) {
  const Eigen::Index rows = x.rows(), frames = x.cols() / batch;
  mask.resize(rows, x.cols());
  std::bernoulli_distribution keep(1.0 - p);
  const T kept = static_cast<T>(1.0 / (1.0 - p));
  for (Eigen::Index t = 0; t < frames; ++t)
    for (int b = 0; b < global_batch; ++b) {
      const bool mine = b >= offset && b < offset + batch;
      T* column = mine ? mask.data() + (t * batch + (b - offset)) * rows : nullptr;
      for (Eigen::Index r = 0; r < rows; ++r) {
        const bool k = keep(rng);
        if (column) column[r] = k ? kept : T(0);
      }
    }
  y = x.cwiseProduct(mask);
}

template <typename T>
void dropout_backward(const Mat<T>& dy, const Mat<T>& mask, Mat<T>& dx) {
  dx = dy.cwiseProduct(mask);
}

#define UNMIX_INSTANTIATE(T)                                                                    \
  template void dropout_forward<T>(const Mat<T>&, double, std::mt19937_64&, Mat<T>&, Mat<T>&); \
  template void dropout_forward_shard<T>(const Mat<T>&, double, std::mt19937_64&, int, int, int, Mat<T>&, Mat<T>&); \
  template void dropout_backward<T>(const Mat<T>&, const Mat<T>&, Mat<T>&);
UNMIX_INSTANTIATE(float)
UNMIX_INSTANTIATE(double)
#undef UNMIX_INSTANTIATE

}  // namespace unmix::cpu
