#pragma once
// The plain separation path: STFT (centered) -> model in eval mode -> target magnitude with the mixture's
// phase -> ISTFT, and the residual as mixture minus target. This is openunmix's Separator with one target,
// niter = 0 and residual on, when the ratio mask is 1 (the model output never exceeds the mixture);
// the full Wiener post-filter builds on top of it.
#include "unmix/audio.h"
#include "unmix/umx_cpu.h"

namespace unmix {

struct SimpleSeparation {
  Audio target;
  Audio residual;
};

// audio must already be at the model's rate with the model's channel count.
SimpleSeparation separate_simple(UmxCpu& model, const Audio& audio);

}  // namespace unmix
