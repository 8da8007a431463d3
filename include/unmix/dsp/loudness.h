#pragma once
// Integrated loudness (ITU-R BS.1770-4 / EBU R128, gated) through libebur128.
#include "unmix/audio.h"

namespace unmix {

// LUFS of `audio` (mono or stereo); -inf for silence. unmix::Error when libebur128 refuses the format.
double integrated_loudness(const Audio& audio);

}  // namespace unmix
