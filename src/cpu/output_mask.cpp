// Output stage: relu(z * output_scale + output_mean) * mix. The model predicts a non-negative mask that
// multiplies the mixture magnitude (the mixture itself is not differentiated, as openunmix detaches it).
#include <vector>

#include "unmix/cpu/layers.h"

namespace unmix::cpu {

template <typename T>
void output_mask_forward(const Mat<T>& z, const T* mix, int channels, int nb_bins, const T* scale, const T* mean,
                         T* out) {
  const auto n = z.cols();
  const std::size_t rows = static_cast<std::size_t>(channels) * nb_bins;
  for (Eigen::Index col = 0; col < n; ++col) {
    const T* zc = z.data() + static_cast<std::size_t>(col) * rows;
    const T* mc = mix + static_cast<std::size_t>(col) * rows;
    T* oc = out + static_cast<std::size_t>(col) * rows;
    for (int c = 0; c < channels; ++c)
      for (int f = 0; f < nb_bins; ++f) {
        const std::size_t i = static_cast<std::size_t>(c) * nb_bins + f;
        const T pre = zc[i] * scale[f] + mean[f];
        oc[i] = (pre > T(0) ? pre : T(0)) * mc[i];
      }
  }
}

template <typename T>
void output_mask_backward(const T* d_out, const Mat<T>& z, const T* mix, int channels, int nb_bins, const T* scale,
                          const T* mean, Mat<T>& dz, T* d_scale, T* d_mean) {
  const auto n = z.cols();
  const std::size_t rows = static_cast<std::size_t>(channels) * nb_bins;
  dz.resize(z.rows(), n);
  std::vector<double> sum_scale(nb_bins, 0.0), sum_mean(nb_bins, 0.0);
  for (Eigen::Index col = 0; col < n; ++col) {
    const std::size_t base = static_cast<std::size_t>(col) * rows;
    for (int c = 0; c < channels; ++c)
      for (int f = 0; f < nb_bins; ++f) {
        const std::size_t i = base + static_cast<std::size_t>(c) * nb_bins + f;
        const T zi = z.data()[i];
        const T pre = zi * scale[f] + mean[f];
        const T d_pre = pre > T(0) ? d_out[i] * mix[i] : T(0);
        dz.data()[i] = d_pre * scale[f];
        sum_scale[f] += static_cast<double>(d_pre * zi);
        sum_mean[f] += static_cast<double>(d_pre);
      }
  }
  for (int f = 0; f < nb_bins; ++f) {
    d_scale[f] += static_cast<T>(sum_scale[f]);
    d_mean[f] += static_cast<T>(sum_mean[f]);
  }
}

#define UNMIX_INSTANTIATE(T)                                                                                     \
  template void output_mask_forward<T>(const Mat<T>&, const T*, int, int, const T*, const T*, T*);              \
  template void output_mask_backward<T>(const T*, const Mat<T>&, const T*, int, int, const T*, const T*, Mat<T>&, \
                                        T*, T*);
UNMIX_INSTANTIATE(float)
UNMIX_INSTANTIATE(double)
#undef UNMIX_INSTANTIATE

}  // namespace unmix::cpu
