#include "unmix/config.h"

#include <sstream>

#include "unmix/error.h"

namespace unmix {

void ModelConfig::validate() const {
  auto check = [](bool ok, const char* what) {
    if (!ok) fail("model config", what);
  };
  check(nfft >= 16 && nfft % 2 == 0, "nfft must be an even number >= 16");
  check(nhop > 0 && nhop <= nfft, "nhop must be in [1, nfft]");
  check(nb_bins == nfft / 2 + 1, "nb_bins must equal nfft / 2 + 1");
  check(max_bin >= 1 && max_bin <= nb_bins, "max_bin must be in [1, nb_bins]");
  check(nb_channels == 1 || nb_channels == 2, "nb_channels must be 1 or 2");
  check(hidden_size >= 2 && hidden_size % 2 == 0, "hidden_size must be even and >= 2");
  check(nb_layers >= 1, "nb_layers must be >= 1");
  check(sample_rate > 0, "sample_rate must be positive");
  check(lstm_dropout >= 0.f && lstm_dropout < 1.f, "lstm_dropout must be in [0, 1)");
}

std::string ModelConfig::describe() const {
  std::ostringstream s;
  s << "nfft=" << nfft << " nhop=" << nhop << " bins=" << nb_bins << " max_bin=" << max_bin
    << " channels=" << nb_channels << " hidden=" << hidden_size << " layers=" << nb_layers
    << " rate=" << sample_rate;
  return s.str();
}

int bandwidth_to_max_bin(double sample_rate, int nfft, double bandwidth) {
  // numpy.linspace(0, rate / 2, nfft // 2 + 1, endpoint=True), then max(where(freqs <= bw)) + 1
  const int bins = nfft / 2 + 1;
  int last = -1;
  for (int k = 0; k < bins; ++k) {
    const double freq = (sample_rate / 2.0) * static_cast<double>(k) / static_cast<double>(bins - 1);
    if (freq <= bandwidth) last = k;
  }
  if (last < 0) fail("model config", "bandwidth below the first bin");
  return last + 1;
}

}  // namespace unmix
