// The mix bus of the synthetic corpus: loudness reached, peaks at the ceiling and never over it, the stems
// still summing to the mix exactly, and nothing touched when mastering is off.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "unmix/dsp/loudness.h"
#include "unmix/error.h"
#include "unmix/synth/master.h"
#include "unmix/synth/mixdown.h"

namespace {

using namespace unmix;
using namespace unmix::synth;

// A drum-like stem (decaying noise bursts every half second) and a tonal one, stereo, 8 s at 44.1 kHz.
std::vector<Audio> two_stems(std::uint64_t seed) {
  const int rate = 44100;
  const std::int64_t frames = 8 * rate;
  std::vector<Audio> stems(2);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (auto& s : stems) {
    s.sample_rate = rate;
    s.channels = 2;
    s.frames = frames;
    s.samples.assign(2 * static_cast<std::size_t>(frames), 0.f);
  }
  for (std::int64_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i % (rate / 2)) / rate;
    const float hit = static_cast<float>(0.5 * std::exp(-25 * t)) * u(rng);
    stems[0].channel(0)[i] = hit;
    stems[0].channel(1)[i] = 0.9f * hit;
    const float tone = static_cast<float>(0.1 * std::sin(2 * 3.14159265 * 220.0 * static_cast<double>(i) / rate));
    stems[1].channel(0)[i] = 0.7f * tone;
    stems[1].channel(1)[i] = tone;
  }
  return stems;
}

TEST(Mastering, ReachesTheLoudnessWithPeaksAtTheCeilingAndStemsSummingToTheMix) {
  for (double target : {-14.0, -10.0, -7.0}) {
    SCOPED_TRACE("target " + std::to_string(target));
    std::vector<Audio> stems = two_stems(3);
    Audio mix = sum_stems(stems);
    MasterSettings s;
    s.active = true;
    s.target_lufs = target;
    s.ceiling_db = -0.1;
    const MasterResult r = master_stems(s, stems, mix);
    std::printf("  target %.1f: %.2f LUFS -> %.2f LUFS, peak %.4f, makeup %.1f dB, compression %.1f dB, limiting %.1f dB\n",
                target, r.lufs_before, r.lufs_after, r.peak, r.makeup_db, r.max_compression_db, r.max_limiting_db);
    EXPECT_NEAR(r.lufs_after, target, 0.5);
    EXPECT_NEAR(integrated_loudness(mix), r.lufs_after, 1e-9);
    const float ceiling = static_cast<float>(std::pow(10.0, s.ceiling_db / 20.0));
    EXPECT_LE(r.peak, ceiling * 1.00001f);
    if (r.max_limiting_db > 0.5) {
      EXPECT_GT(r.peak, ceiling * 0.97f) << "a limited master's peaks reach the ceiling";
    }
    const Audio again = sum_stems(stems);
    EXPECT_EQ(again.samples, mix.samples) << "the mastered stems must still add up to the mastered mix";
  }
}

TEST(Mastering, GainIsOneCurveForEveryStem) {
  std::vector<Audio> stems = two_stems(4);
  const std::vector<Audio> before = stems;
  Audio mix = sum_stems(stems);
  MasterSettings s;
  s.active = true;
  s.target_lufs = -8;
  master_stems(s, stems, mix);
  // stem_j(t) / before_j(t) is the same g(t) for every stem and channel wherever both are non-zero
  double worst = 0;
  for (std::int64_t i = 0; i < stems[0].frames; i += 37) {
    const float a = before[0].channel(0)[i], b = before[1].channel(1)[i];
    if (std::abs(a) < 1e-3f || std::abs(b) < 1e-3f) continue;
    const double ga = stems[0].channel(0)[i] / a, gb = stems[1].channel(1)[i] / b;
    worst = std::max(worst, std::abs(ga - gb) / std::abs(gb));
  }
  EXPECT_LT(worst, 1e-5);
}

TEST(Mastering, InactiveLeavesEverythingAlone) {
  std::vector<Audio> stems = two_stems(5);
  const std::vector<Audio> before = stems;
  Audio mix = sum_stems(stems);
  const Audio mix_before = mix;
  const MasterResult r = master_stems(MasterSettings{}, stems, mix);
  EXPECT_EQ(mix.samples, mix_before.samples);
  EXPECT_EQ(stems[0].samples, before[0].samples);
  EXPECT_EQ(r.makeup_db, 0.0);
}

TEST(Mastering, RejectsImpossibleSettingsByName) {
  MasterSettings s;
  s.active = true;
  s.target_lufs = 3;
  try {
    s.validate();
    FAIL() << "accepted +3 LUFS";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target_lufs"), std::string::npos) << e.what();
  }
  s = MasterSettings{};
  s.comp_ratio = 0.5;
  EXPECT_THROW(s.validate(), Error);
}

}  // namespace
