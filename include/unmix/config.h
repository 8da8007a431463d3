#pragma once
// Open-Unmix hyper-parameters, with openunmix-pytorch's defaults.
#include <string>

namespace unmix {

struct ModelConfig {
  int nfft = 4096;
  int nhop = 1024;
  int nb_bins = 2049;      // output bins: nfft / 2 + 1
  int max_bin = 1487;      // input bins kept after the crop (bandwidth 16 kHz at 44.1 kHz)
  int nb_channels = 2;
  int hidden_size = 512;   // fc1 / fc2 width; each LSTM direction has hidden_size / 2 units
  int nb_layers = 3;       // BiLSTM layers
  double sample_rate = 44100.0;
  double bandwidth = 16000.0;
  float lstm_dropout = 0.4f;  // between LSTM layers, training only (openunmix: 0.4 when nb_layers > 1)

  int lstm_hidden() const { return hidden_size / 2; }
  int input_features() const { return max_bin * nb_channels; }
  int output_features() const { return nb_bins * nb_channels; }
  void validate() const;  // throws unmix::Error naming the bad field
  std::string describe() const;
};

// openunmix.utils.bandwidth_to_max_bin: index of the last bin whose centre frequency is <= bandwidth, plus one.
int bandwidth_to_max_bin(double sample_rate, int nfft, double bandwidth);

}  // namespace unmix
