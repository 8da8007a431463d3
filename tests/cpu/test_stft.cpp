// STFT / ISTFT: perfect reconstruction and equality with torch.stft / torch.istft (committed fixture).
#include <gtest/gtest.h>

#include <cmath>

#include "test_support.h"
#include "unmix/error.h"
#include "unmix/safetensors.h"
#include "unmix/stft.h"

using namespace unmix;
using unmix::test::rel_error;

namespace {

std::vector<float> fixture_tensor(const safetensors::File& f, const std::string& name) {
  const auto* t = f.find(name);
  if (!t) throw std::runtime_error("fixture tensor missing: " + name);
  return safetensors::as_f32(*t);
}

// Torch layout (channels, bins, frames) -> ours [channels][frames][bins].
void compare_with_torch(const ComplexSpectrogram& spec, const std::vector<float>& real, const std::vector<float>& imag,
                        double bound) {
  ASSERT_EQ(real.size(), spec.data.size());
  std::vector<float> ours_re(real.size()), ours_im(real.size());
  for (int c = 0; c < spec.channels; ++c)
    for (int f = 0; f < spec.bins; ++f)
      for (int t = 0; t < spec.frames; ++t) {
        const auto v = spec.frame(c, t)[f];
        const std::size_t i = (static_cast<std::size_t>(c) * spec.bins + f) * spec.frames + t;
        ours_re[i] = v.real();
        ours_im[i] = v.imag();
      }
  // Compare as one complex vector: ||ours - torch|| / ||torch||.
  std::vector<float> ours(ours_re), theirs(real);
  ours.insert(ours.end(), ours_im.begin(), ours_im.end());
  theirs.insert(theirs.end(), imag.begin(), imag.end());
  const double err = rel_error(ours, theirs);
  EXPECT_LE(err, bound);
  std::printf("    stft vs torch: rel. error %.3g (frames %d)\n", err, spec.frames);
}

}  // namespace

TEST(Stft, FrameCountsMatchTorch) {
  Stft stft(4096, 1024);
  EXPECT_EQ(stft.frames(4096, false), 1);
  EXPECT_EQ(stft.frames(4095, false), 0);
  EXPECT_EQ(stft.frames(6001, false), 2);
  EXPECT_EQ(stft.frames(6001, true), 6);  // 1 + 6001 // 1024
  EXPECT_EQ(stft.frames(44100, true), 44);
  EXPECT_EQ(stft.default_length(6, true), 5 * 1024);
}

TEST(Stft, WindowIsPeriodicHann) {
  Stft stft(8, 2);
  const auto& w = stft.window();
  EXPECT_FLOAT_EQ(w[0], 0.f);
  EXPECT_FLOAT_EQ(w[4], 1.f);  // periodic: the peak sits at N / 2
  EXPECT_FLOAT_EQ(w[2], 0.5f);
  EXPECT_FLOAT_EQ(w[1], w[7]);
}

TEST(Stft, PerfectReconstructionCentered) {
  Stft stft(4096, 1024);
  for (std::int64_t length : {2049, 4097, 10007, 44101}) {
    const auto audio = unmix::test::random_vector<float>(2 * static_cast<std::size_t>(length), 17 + length);
    const auto spec = stft.forward(audio.data(), 2, length, true);
    std::vector<float> back(audio.size(), NAN);  // poisoned: every sample must be written
    stft.inverse(spec, true, length, back.data());
    const double err = rel_error(back, audio);
    EXPECT_LE(err, 1e-6) << "length " << length;
    std::printf("    length %lld: reconstruction rel. error %.3g\n", static_cast<long long>(length), err);
  }
}

TEST(Stft, PerfectReconstructionUncenteredAwayFromTheEdges) {
  // Without centering the window envelope vanishes at the first and last samples; torch.istft refuses
  // such input, we return zeros there. Everything covered by more than the window edge reconstructs.
  Stft stft(4096, 1024);
  const std::int64_t length = 4096 + 7 * 1024;  // exactly 8 frames
  const auto audio = unmix::test::random_vector<float>(2 * static_cast<std::size_t>(length), 5);
  const auto spec = stft.forward(audio.data(), 2, length, false);
  ASSERT_EQ(spec.frames, 8);
  std::vector<float> back(audio.size(), NAN);
  stft.inverse(spec, false, length, back.data());
  std::vector<float> inner_back, inner_ref;
  for (int c = 0; c < 2; ++c)
    for (std::int64_t k = 1024; k < length - 1024; ++k) {
      inner_back.push_back(back[c * length + k]);
      inner_ref.push_back(audio[c * length + k]);
    }
  EXPECT_LE(rel_error(inner_back, inner_ref), 1e-6);
  for (float v : back) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(back[0], 0.f);
}

TEST(Stft, MatchesTorchStft) {
  const auto f = safetensors::read(unmix::test::fixture("stft_torch.safetensors"));
  const auto audio = fixture_tensor(f, "audio");
  const std::int64_t length = static_cast<std::int64_t>(audio.size() / 2);
  Stft stft(4096, 1024);
  compare_with_torch(stft.forward(audio.data(), 2, length, false), fixture_tensor(f, "nocenter.real"),
                     fixture_tensor(f, "nocenter.imag"), 1e-6);
  compare_with_torch(stft.forward(audio.data(), 2, length, true), fixture_tensor(f, "center.real"),
                     fixture_tensor(f, "center.imag"), 1e-6);
}

TEST(Stft, MatchesTorchIstftWithLength) {
  const auto f = safetensors::read(unmix::test::fixture("stft_torch.safetensors"));
  const auto audio = fixture_tensor(f, "audio");
  const std::int64_t length = static_cast<std::int64_t>(audio.size() / 2);
  Stft stft(4096, 1024);
  const auto spec = stft.forward(audio.data(), 2, length, true);
  for (auto [name, out_length] : {std::pair{"istft_center", length}, std::pair{"istft_center_short", std::int64_t{4000}},
                                  std::pair{"istft_center_long", std::int64_t{7000}}}) {
    std::vector<float> back(2 * static_cast<std::size_t>(out_length), NAN);
    stft.inverse(spec, true, out_length, back.data());
    const auto ref = fixture_tensor(f, name);
    const double err = rel_error(back, ref);
    EXPECT_LE(err, 1e-6) << name;
    std::printf("    %s: rel. error vs torch.istft %.3g\n", name, err);
  }
}

TEST(Stft, MagnitudeFrameMajorLayout) {
  Stft stft(256, 64);
  const std::int64_t length = 1000;
  const auto audio = unmix::test::random_vector<float>(2 * length, 3);
  const auto spec = stft.forward(audio.data(), 2, length, true);
  std::vector<float> tbcf(static_cast<std::size_t>(spec.frames) * 2 * 2 * spec.bins, NAN);
  magnitude_frame_major(spec, 2, 1, tbcf.data());
  const auto mag = magnitude(spec);
  for (int t = 0; t < spec.frames; ++t)
    for (int c = 0; c < 2; ++c)
      for (int f = 0; f < spec.bins; f += 17)
        EXPECT_EQ(tbcf[((static_cast<std::size_t>(t) * 2 + 1) * 2 + c) * spec.bins + f],
                  mag[(static_cast<std::size_t>(c) * spec.frames + t) * spec.bins + f]);
}

TEST(Stft, TooShortSignalsAreRejected) {
  Stft stft(4096, 1024);
  std::vector<float> x(3000, 0.1f);
  EXPECT_THROW(stft.forward(x.data(), 1, 3000, false), unmix::Error);
  EXPECT_THROW(stft.forward(x.data(), 1, 2048, true), unmix::Error);
  EXPECT_NO_THROW(stft.forward(x.data(), 1, 2049, true));
}
