// Dense layer without bias (fc1, fc2, fc3): y = W x with PyTorch's row-major W [out, in].
#include "unmix/cpu/layers.h"

namespace unmix::cpu {

template <typename T>
void linear_forward(const Mat<T>& x, const T* weight, int out_features, Mat<T>& y) {
  // Row-major [out, in] is column-major [in, out]: y = (W^T)^T x.
  ConstMatMap<T> w_t(weight, x.rows(), out_features);
  y.noalias() = w_t.transpose() * x;
}

template <typename T>
void linear_backward(const Mat<T>& dy, const Mat<T>& x, const T* weight, int out_features, Mat<T>* dx,
                     T* d_weight) {
  ConstMatMap<T> w_t(weight, x.rows(), out_features);
  MatMap<T> dw_t(d_weight, x.rows(), out_features);
  dw_t.noalias() += x * dy.transpose();  // dW = dy x^T, stored transposed
  if (dx) dx->noalias() = w_t * dy;
}

#define UNMIX_INSTANTIATE(T)                                                      \
  template void linear_forward<T>(const Mat<T>&, const T*, int, Mat<T>&);         \
  template void linear_backward<T>(const Mat<T>&, const Mat<T>&, const T*, int, Mat<T>*, T*);
UNMIX_INSTANTIATE(float)
UNMIX_INSTANTIATE(double)
#undef UNMIX_INSTANTIATE

}  // namespace unmix::cpu
