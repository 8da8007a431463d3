#include "unmix/synth/float_wav.h"

#include <sndfile.h>

#include <algorithm>
#include <string>
#include <vector>

#include "unmix/error.h"

namespace unmix::synth {

void write_float_wav(const std::filesystem::path& path, const Audio& audio) {
  if (audio.channels < 1 || audio.sample_rate < 1 || audio.frames < 1 ||
      audio.samples.size() != static_cast<std::size_t>(audio.channels) * static_cast<std::size_t>(audio.frames))
    fail(path, "refusing to write empty or malformed audio");
  if (4ull * audio.samples.size() > 0xFFFFFFFFull - 1024) fail(path, "too long for a WAV file (4 GiB limit)");
  SF_INFO info{};
  info.samplerate = audio.sample_rate;
  info.channels = audio.channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  AtomicFile out(path);
  SNDFILE* file = sf_open(out.temp_path().c_str(), SFM_WRITE, &info);
  if (!file) fail(path, std::string("cannot create temporary output file: ") + sf_strerror(nullptr));
  sf_command(file, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
  // Planar in memory, interleaved on disk.
  constexpr std::int64_t kBlock = 16384;
  std::vector<float> block(static_cast<std::size_t>(kBlock * audio.channels));
  for (std::int64_t start = 0; start < audio.frames; start += kBlock) {
    const std::int64_t n = std::min(kBlock, audio.frames - start);
    for (std::int64_t i = 0; i < n; ++i)
      for (int c = 0; c < audio.channels; ++c)
        block[static_cast<std::size_t>(i * audio.channels + c)] = audio.channel(c)[start + i];
    if (sf_writef_float(file, block.data(), n) != n) {
      const std::string why = sf_strerror(file);
      sf_close(file);
      fail(path, "write failed: " + why);
    }
  }
  const int rc = sf_close(file);
  if (rc != 0) fail(path, std::string("closing the output failed: ") + sf_error_number(rc));
  out.commit();
}

}  // namespace unmix::synth
