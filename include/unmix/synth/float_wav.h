#pragma once
// 32-bit float WAV for the corpus. libsndfile normally adds a PEAK chunk with a time stamp to float
// files, so two writes of the same audio differ; this writer leaves it out, so equal audio gives equal
// bytes. Written through a temporary file renamed into place; read back with unmix::read_audio.
#include <filesystem>

#include "unmix/audio.h"

namespace unmix::synth {

void write_float_wav(const std::filesystem::path& path, const Audio& audio);

}  // namespace unmix::synth
