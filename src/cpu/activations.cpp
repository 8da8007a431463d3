// Elementwise activations: tanh after BN1, ReLU after BN2.
#include "unmix/cpu/layers.h"

namespace unmix::cpu {

template <typename T>
void tanh_forward(const Mat<T>& x, Mat<T>& y) {
  y = x.array().tanh().matrix();
}

template <typename T>
void tanh_backward(const Mat<T>& dy, const Mat<T>& y, Mat<T>& dx) {
  dx = (dy.array() * (T(1) - y.array().square())).matrix();
}

template <typename T>
void relu_forward(const Mat<T>& x, Mat<T>& y) {
  y = x.cwiseMax(T(0));
}

template <typename T>
void relu_backward(const Mat<T>& dy, const Mat<T>& x, Mat<T>& dx) {
  dx = (x.array() > T(0)).select(dy, T(0));
}

#define UNMIX_INSTANTIATE(T)                                                  \
  template void tanh_forward<T>(const Mat<T>&, Mat<T>&);                      \
  template void tanh_backward<T>(const Mat<T>&, const Mat<T>&, Mat<T>&);      \
  template void relu_forward<T>(const Mat<T>&, Mat<T>&);                      \
  template void relu_backward<T>(const Mat<T>&, const Mat<T>&, Mat<T>&);
UNMIX_INSTANTIATE(float)
UNMIX_INSTANTIATE(double)
#undef UNMIX_INSTANTIATE

}  // namespace unmix::cpu
