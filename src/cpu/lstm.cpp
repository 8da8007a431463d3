// One bidirectional LSTM layer, PyTorch semantics: gates i, f, g, o stacked in that order in w_ih / w_hh,
// two bias vectors, zero initial hidden and cell state, reverse direction reading the sequence backwards.
//
// Forward: the input projection for all frames is one matrix product; only the recurrent product runs per
// frame. Backward (BPTT) mirrors it: per-frame recurrent products, then one product each for dW_ih, dW_hh and
// dx over all frames.
#include <cmath>

#include "unmix/cpu/layers.h"

namespace unmix::cpu {

namespace {
template <typename T>
auto frame_block(Mat<T>& m, int t, int batch) {
  return m.middleCols(static_cast<Eigen::Index>(t) * batch, batch);
}
template <typename T>
auto frame_block(const Mat<T>& m, int t, int batch) {
  return m.middleCols(static_cast<Eigen::Index>(t) * batch, batch);
}
}  // namespace

template <typename T>
void bilstm_layer_forward(const Mat<T>& x, int frames, int batch, int hidden, const LstmDirection<T> dirs[2],
                          Mat<T>& y, LstmCache<T>& cache) {
  const Eigen::Index in = x.rows(), n = x.cols(), H = hidden;
  y.resize(2 * H, n);
  for (int d = 0; d < 2; ++d) {  // input projections: large products, multi-threaded inside Eigen
    ConstMatMap<T> w_ih_t(dirs[d].w_ih, in, 4 * H);
    const Vec<T> bias = ConstVecMap<T>(dirs[d].b_ih, 4 * H) + ConstVecMap<T>(dirs[d].b_hh, 4 * H);
    cache.gates[d].noalias() = w_ih_t.transpose() * x;
    cache.gates[d].colwise() += bias;
    cache.cells[d].resize(H, n);
  }
  // The two directions' recurrences are independent: run them side by side.
#pragma omp parallel for num_threads(2) schedule(static, 1)
  for (int d = 0; d < 2; ++d) {
    ConstMatMap<T> w_hh_t(dirs[d].w_hh, H, 4 * H);
    Mat<T>& gates = cache.gates[d];
    Mat<T> h_prev = Mat<T>::Zero(H, batch), c_prev = Mat<T>::Zero(H, batch);
    for (int s = 0; s < frames; ++s) {
      const int t = d == 0 ? s : frames - 1 - s;
      auto g = frame_block(gates, t, batch);
      if (s > 0) g.noalias() += w_hh_t.transpose() * h_prev;
      // gates in place: i, f, o through the logistic function, g through tanh (vectorized by Eigen)
      auto i_gate = g.topRows(H).array();
      auto f_gate = g.middleRows(H, H).array();
      auto g_gate = g.middleRows(2 * H, H).array();
      auto o_gate = g.bottomRows(H).array();
      i_gate = (T(1) + (-i_gate).exp()).inverse();
      f_gate = (T(1) + (-f_gate).exp()).inverse();
      g_gate = g_gate.tanh();
      o_gate = (T(1) + (-o_gate).exp()).inverse();
      c_prev.array() = f_gate * c_prev.array() + i_gate * g_gate;
      h_prev.array() = o_gate * c_prev.array().tanh();
      frame_block(cache.cells[d], t, batch) = c_prev;
      y.block(d * H, static_cast<Eigen::Index>(t) * batch, H, batch) = h_prev;
    }
  }
}

template <typename T>
void bilstm_layer_backward(const Mat<T>& dy, const Mat<T>& x, const Mat<T>& y, int frames, int batch, int hidden,
                           const LstmDirection<T> dirs[2], LstmCache<T>& cache,
                           const LstmDirectionGrads<T> grads[2], Mat<T>& dx) {
  const Eigen::Index in = x.rows(), n = x.cols(), H = hidden;
  Mat<T>* dx_direction = cache.dx_direction;
  // Directions are independent (disjoint weight gradients); each writes its own input gradient.
#pragma omp parallel for num_threads(2) schedule(static, 1)
  for (int d = 0; d < 2; ++d) {
    ConstMatMap<T> w_ih_t(dirs[d].w_ih, in, 4 * H);
    ConstMatMap<T> w_hh_t(dirs[d].w_hh, H, 4 * H);
    const Mat<T>& gates = cache.gates[d];
    const Mat<T>& cells = cache.cells[d];
    Mat<T>& d_gates = cache.d_gates[d];
    d_gates.resize(4 * H, n);
    Mat<T>& h_prev_all = cache.h_prev_all[d];  // hidden state entering each frame, for dW_hh
    h_prev_all.setZero(H, n);
    Mat<T> dh_next = Mat<T>::Zero(H, batch), dc_next = Mat<T>::Zero(H, batch);
    for (int s = frames - 1; s >= 0; --s) {
      const int t = d == 0 ? s : frames - 1 - s;
      const int t_prev = d == 0 ? t - 1 : t + 1;  // the frame processed just before t
      const bool first = s == 0;
      auto g = frame_block(gates, t, batch);
      auto c = frame_block(cells, t, batch);
      auto dg = frame_block(d_gates, t, batch);
      const auto dy_t = dy.block(d * H, static_cast<Eigen::Index>(t) * batch, H, batch);
      for (Eigen::Index b = 0; b < batch; ++b) {
        for (Eigen::Index k = 0; k < H; ++k) {
          const T i_gate = g(k, b), f_gate = g(H + k, b), g_gate = g(2 * H + k, b), o_gate = g(3 * H + k, b);
          const T c_prev = first ? T(0) : cells(k, static_cast<Eigen::Index>(t_prev) * batch + b);
          const T tc = std::tanh(c(k, b));
          const T dh = dy_t(k, b) + dh_next(k, b);
          const T d_o = dh * tc;
          const T dc = dh * o_gate * (T(1) - tc * tc) + dc_next(k, b);
          dc_next(k, b) = dc * f_gate;
          dg(k, b) = dc * g_gate * i_gate * (T(1) - i_gate);
          dg(H + k, b) = dc * c_prev * f_gate * (T(1) - f_gate);
          dg(2 * H + k, b) = dc * i_gate * (T(1) - g_gate * g_gate);
          dg(3 * H + k, b) = d_o * o_gate * (T(1) - o_gate);
        }
      }
      if (!first) {
        dh_next.noalias() = w_hh_t * dg;
        frame_block(h_prev_all, t, batch) = y.block(d * H, static_cast<Eigen::Index>(t_prev) * batch, H, batch);
      }
    }
    MatMap<T>(grads[d].w_ih, in, 4 * H).noalias() += x * d_gates.transpose();
    MatMap<T>(grads[d].w_hh, H, 4 * H).noalias() += h_prev_all * d_gates.transpose();
    const Vec<T> d_bias = d_gates.rowwise().sum();
    VecMap<T>(grads[d].b_ih, 4 * H) += d_bias;
    VecMap<T>(grads[d].b_hh, 4 * H) += d_bias;
    dx_direction[d].noalias() = w_ih_t * d_gates;
  }
  dx = dx_direction[0] + dx_direction[1];
}

#define UNMIX_INSTANTIATE(T)                                                                                    \
  template void bilstm_layer_forward<T>(const Mat<T>&, int, int, int, const LstmDirection<T>[2], Mat<T>&,       \
                                        LstmCache<T>&);                                                         \
  template void bilstm_layer_backward<T>(const Mat<T>&, const Mat<T>&, const Mat<T>&, int, int, int,            \
                                         const LstmDirection<T>[2], LstmCache<T>&,                              \
                                         const LstmDirectionGrads<T>[2], Mat<T>&);
UNMIX_INSTANTIATE(float)
UNMIX_INSTANTIATE(double)
#undef UNMIX_INSTANTIATE

}  // namespace unmix::cpu
