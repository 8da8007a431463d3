#pragma once
// Tiny MedleyDB-layout corpora written on the fly for the data tests: per track a metadata YAML, stem WAVs
// and a mix that is the float sum of the stems (so mix = target + interferers holds up to rounding).
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "unmix/audio.h"

namespace unmix::test {

struct StemSpec {
  std::string instrument;     // one label, or "[a, b]" for a YAML list
  double seconds = 2.0;       // length of this stem's file
  int channels = 2;
  int sample_rate = 44100;
  bool write_file = true;     // false: listed in the metadata, missing on disk
  bool in_mix = true;         // part of the written mix
  std::uint64_t seed = 1;
};

struct TrackSpec {
  std::string id, artist;
  bool bleed = false;
  double mix_seconds = 2.0;
  int mix_rate = 44100;
  bool write_mix = true;
  std::vector<StemSpec> stems;
};

// A deterministic test signal: a few sines with seeded frequencies plus a little noise, per channel.
inline Audio test_signal(double seconds, int channels, int rate, std::uint64_t seed) {
  Audio a;
  a.sample_rate = rate;
  a.channels = channels;
  a.frames = static_cast<std::int64_t>(std::llround(seconds * rate));
  a.samples.resize(static_cast<std::size_t>(channels) * static_cast<std::size_t>(a.frames));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int c = 0; c < channels; ++c) {
    const double f1 = 100 + 900 * u(rng), f2 = 100 + 2000 * u(rng), amp = 0.05 + 0.1 * u(rng);
    for (std::int64_t i = 0; i < a.frames; ++i) {
      const double t = static_cast<double>(i) / rate;
      a.channel(c)[i] = static_cast<float>(amp * (std::sin(2 * std::numbers::pi * f1 * t) + 0.5 * std::sin(2 * std::numbers::pi * f2 * t)) +
                                           0.01 * (u(rng) - 0.5));
    }
  }
  return a;
}

inline std::string stem_file(const std::string& id, std::size_t k) {
  char n[24];
  std::snprintf(n, sizeof n, "%02zu", k + 1);
  return id + "_STEM_" + n + ".wav";
}

// Writes <root>/<id>/{<id>_METADATA.yaml, <id>_MIX.wav, <id>_STEMS/<id>_STEM_NN.wav}. The mix is the sum of
// the stems marked in_mix, each cut or zero-padded to the mix length (stems at other rates or channel
// counts are left out of the mix: the test checks those separately).
inline void write_track(const std::filesystem::path& root, const TrackSpec& spec,
                        const std::filesystem::path& metadata_dir = {}) {
  namespace fs = std::filesystem;
  const fs::path dir = root / spec.id;
  fs::create_directories(dir / (spec.id + "_STEMS"));
  std::ofstream yaml((metadata_dir.empty() ? dir : metadata_dir) / (spec.id + "_METADATA.yaml"));
  yaml << "artist: " << spec.artist << "\ntitle: " << spec.id << "\ngenre: Rock\nhas_bleed: '" << (spec.bleed ? "yes" : "no")
       << "'\nmix_filename: " << spec.id << "_MIX.wav\nstem_dir: " << spec.id << "_STEMS\nstems:\n";
  Audio mix;
  mix.sample_rate = spec.mix_rate;
  mix.channels = 2;
  mix.frames = static_cast<std::int64_t>(std::llround(spec.mix_seconds * spec.mix_rate));
  mix.samples.assign(2 * static_cast<std::size_t>(mix.frames), 0.f);
  for (std::size_t k = 0; k < spec.stems.size(); ++k) {
    const StemSpec& s = spec.stems[k];
    char sid[24];
    std::snprintf(sid, sizeof sid, "S%02zu", k + 1);
    yaml << "  " << sid << ":\n    component: ''\n    filename: " << stem_file(spec.id, k) << "\n    instrument: " << s.instrument
         << "\n";
    if (!s.write_file) continue;
    const Audio stem = test_signal(s.seconds, s.channels, s.sample_rate, s.seed);
    write_audio(dir / (spec.id + "_STEMS") / stem_file(spec.id, k), stem, SampleFormat::Float32);
    if (!s.in_mix || s.sample_rate != spec.mix_rate || s.channels != 2) continue;
    for (int c = 0; c < 2; ++c)
      for (std::int64_t i = 0; i < std::min(stem.frames, mix.frames); ++i) mix.channel(c)[i] += stem.channel(c)[i];
  }
  yaml << "version: 1.2\n";
  if (spec.write_mix) write_audio(dir / (spec.id + "_MIX.wav"), mix, SampleFormat::Float32);
}

}  // namespace unmix::test
