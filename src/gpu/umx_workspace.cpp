#include "unmix/gpu/umx_workspace.h"

#include <algorithm>

#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

UmxWorkspace plan_workspace(const ModelConfig& config, int frames, int batch, Purpose purpose) {
  const std::size_t N = static_cast<std::size_t>(frames) * static_cast<std::size_t>(batch);
  const std::size_t H = config.hidden_size, in_f = config.input_features(), out_f = config.output_features();
  const bool training = purpose == Purpose::Training;
  UmxWorkspace w;
  w.x_in = in_f * N;
  w.fc1_out = H * N;
  w.fc2_out = H * N;
  w.fc3_out = out_f * N;
  w.mix_magnitude = out_f * N;
  w.lstm_out = H * N;
  w.lstm_out_buffers = training ? config.nb_layers : std::min(2, config.nb_layers);
  if (!training) return w;
  w.tanh_out = H * N;
  w.relu_out = H * N;
  w.bn3_out = out_f * N;
  w.lstm_in_buffers = config.nb_layers - 1;
  w.lstm_in = H * N;
  w.d_output_features = out_f * N;
  w.d_hidden = H * N;
  w.d_x_in = in_f * N;
  const int n_cols = static_cast<int>(N);
  w.reduction_partials = std::max({batchnorm_partials_size(static_cast<int>(out_f), n_cols),
                                   batchnorm_partials_size(static_cast<int>(H), n_cols),
                                   output_mask_partials_size(n_cols, config.nb_channels, config.nb_bins),
                                   input_norm_partials_size(n_cols, config.nb_channels, config.max_bin),
                                   mse_partials_size(out_f * N)});
  return w;
}

std::size_t UmxWorkspace::bytes() const {
  const std::size_t floats = x_in + fc1_out + tanh_out + fc2_out + relu_out + fc3_out + bn3_out + mix_magnitude +
                             static_cast<std::size_t>(lstm_out_buffers) * lstm_out +
                             2 * static_cast<std::size_t>(lstm_in_buffers) * lstm_in + 2 * d_output_features +
                             5 * d_hidden + d_x_in;
  return floats * sizeof(float) + reduction_partials * sizeof(double);
}

}  // namespace unmix::gpu
