// read_audio and probe_audio on any file (libsndfile picks the format from the content: WAV, FLAC, Ogg,
// MP3, AIFF, ...); a window read as separate's --start/--duration would.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "unmix/audio.h"
#include "unmix/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = unmix::fuzz::write_input("input.wav", data, size);
  try {
    (void)unmix::probe_audio(path);
  } catch (const unmix::Error&) {
  }
  try {
    (void)unmix::read_audio(path);
  } catch (const unmix::Error&) {
  }
  try {
    (void)unmix::read_audio(path, 0.01, 0.02);
  } catch (const unmix::Error&) {
  }
  return 0;
}
