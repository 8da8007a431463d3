// Input stage: crop to max_bin, shift by input_mean, scale by input_scale, flatten channels.
#include "unmix/cpu/layers.h"

namespace unmix::cpu {

template <typename T>
void input_norm_forward(const T* mix, int n, int channels, int nb_bins, int max_bin, const T* mean, const T* scale,
                        Mat<T>& x) {
  x.resize(static_cast<Eigen::Index>(channels) * max_bin, n);
  for (int col = 0; col < n; ++col) {
    for (int c = 0; c < channels; ++c) {
      const T* src = mix + (static_cast<std::size_t>(col) * channels + c) * nb_bins;
      T* dst = x.data() + (static_cast<std::size_t>(col) * channels + c) * max_bin;
      for (int f = 0; f < max_bin; ++f) dst[f] = (src[f] + mean[f]) * scale[f];
    }
  }
}

template <typename T>
void input_norm_backward(const Mat<T>& dx, const T* mix, int channels, int nb_bins, int max_bin, const T* mean,
                         const T* scale, T* d_mean, T* d_scale, T* d_mix) {
  const auto n = dx.cols();
  // Accumulate per-bin sums in double: these reduce over every frame and channel.
  std::vector<double> sum_mean(max_bin, 0.0), sum_scale(max_bin, 0.0);
  for (Eigen::Index col = 0; col < n; ++col) {
    for (int c = 0; c < channels; ++c) {
      const T* src = mix + (static_cast<std::size_t>(col) * channels + c) * nb_bins;
      const T* g = dx.data() + (static_cast<std::size_t>(col) * channels + c) * max_bin;
      T* dm = d_mix ? d_mix + (static_cast<std::size_t>(col) * channels + c) * nb_bins : nullptr;
      for (int f = 0; f < max_bin; ++f) {
        sum_mean[f] += static_cast<double>(g[f] * scale[f]);
        sum_scale[f] += static_cast<double>(g[f] * (src[f] + mean[f]));
        if (dm) dm[f] = g[f] * scale[f];
      }
      if (dm)
        for (int f = max_bin; f < nb_bins; ++f) dm[f] = T(0);
    }
  }
  for (int f = 0; f < max_bin; ++f) {
    d_mean[f] += static_cast<T>(sum_mean[f]);
    d_scale[f] += static_cast<T>(sum_scale[f]);
  }
}

#define UNMIX_INSTANTIATE(T)                                                                                  \
  template void input_norm_forward<T>(const T*, int, int, int, int, const T*, const T*, Mat<T>&);            \
  template void input_norm_backward<T>(const Mat<T>&, const T*, int, int, int, const T*, const T*, T*, T*, T*);
UNMIX_INSTANTIATE(float)
UNMIX_INSTANTIATE(double)
#undef UNMIX_INSTANTIATE

}  // namespace unmix::cpu
