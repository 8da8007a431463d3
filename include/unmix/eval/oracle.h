#pragma once
// Oracle separations: what a time-frequency mask (or a multichannel Wiener filter) could reach when it is
// computed from the true stems, as in sigsep-mus-oracle. They bound from above what a spectrogram-masking
// model can do, and the mixture itself ("Mixture": every source estimated as the whole mix) bounds it
// from below.
//   IRM1, IRM2  ideal ratio mask |S_j|^a / (eps + sum_k |S_k|^a) with a = 1 (magnitudes) or 2 (powers);
//               STFT 2048 / hop 1024 (sigsep's IRM.py: scipy.signal.stft, nperseg 2048, 50 % overlap).
//   IBM         ideal binary mask: 1 where |S_j| / (eps + |X|) >= 0.5 (IBM.py's alpha 1, theta 0.5); STFT 2048/1024.
//   MWF         multichannel Wiener filter from the stems' spectrograms and per-bin spatial covariances
//               (MWF.py's model, STFT 4096 / hop 2048; covariances normalized per bin, loaded by 1e-6 for
//               float32 rounding); on mono, a power-spectrogram Wiener filter.
//   Mixture     the mix for every source.
// Channels are processed independently except by MWF. The STFT is unmix::Stft with center=true (reflect
// padding where scipy zero-pads), so edges differ slightly from sigsep's numbers.
#include <string>
#include <string_view>
#include <vector>

#include "unmix/audio.h"

namespace unmix::eval {

enum class OracleMethod { IRM1, IRM2, IBM, MWF, Mixture };

std::string_view oracle_name(OracleMethod method);              // "IRM1", "IRM2", "IBM", "MWF", "Mixture"
bool parse_oracle(std::string_view name, OracleMethod& out);    // case-insensitive; "mix" means Mixture
std::vector<OracleMethod> all_oracles();                        // in the order above

// One estimate per source, shaped like the mixture. `sources` are the true stems and `mixture` the signal
// they are separated from (usually their sum); all share rate, channel count (1 or 2) and length.
// Throws unmix::Error for mismatched shapes, no sources, or a signal too short for the STFT.
std::vector<Audio> oracle_estimates(OracleMethod method, const std::vector<Audio>& sources, const Audio& mixture);

}  // namespace unmix::eval
