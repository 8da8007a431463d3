// The input augmentations as signal transforms (augment.h), measured: the tilt's slope in dB/octave, the
// resampling round trip's passband and alignment, each codec's round trip (close, not equal, time-aligned,
// deterministic, bitrate-dependent), the mono fold, and the option lists' parsing. The loader's use of
// them (probabilities, which signal gets what, determinism) is in test_loader.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "song_like.h"
#include "test_support.h"
#include "unmix/data/augment.h"
#include "unmix/error.h"
#include "unmix/stft.h"

using namespace unmix;
using namespace unmix::data;

namespace {

std::vector<float> noise(std::int64_t frames, int channels, std::uint64_t seed, double amplitude = 0.3) {
  return test::random_vector<float>(static_cast<std::size_t>(frames * channels), seed, -amplitude, amplitude);
}

// Mean power per STFT bin of one channel.
std::vector<double> power_spectrum(const float* x, std::int64_t frames) {
  const Stft stft(4096, 1024);
  const ComplexSpectrogram s = stft.forward(x, 1, frames, false);
  std::vector<double> p(static_cast<std::size_t>(s.bins), 0.0);
  for (int t = 0; t < s.frames; ++t)
    for (int k = 0; k < s.bins; ++k) p[static_cast<std::size_t>(k)] += std::norm(s.frame(0, t)[k]);
  return p;
}

// dB of the power ratio after/before over the bins from `low` to `high` Hz.
double gain_between_db(const std::vector<double>& after, const std::vector<double>& before, double low, double high,
                       int rate) {
  const double bin_hz = rate / 4096.0;
  double a = 0, b = 0;
  for (auto k = static_cast<std::size_t>(std::ceil(low / bin_hz)); k <= static_cast<std::size_t>(high / bin_hz); ++k) {
    a += after[k];
    b += before[k];
  }
  return 10 * std::log10(a / b);
}

// ... over a third of an octave around `hz`.
double band_gain_db(const std::vector<double>& after, const std::vector<double>& before, double hz, int rate) {
  return gain_between_db(after, before, hz * std::exp2(-1.0 / 6), hz * std::exp2(1.0 / 6), rate);
}

// The lag in [-max_lag, max_lag] at which y best matches x (y[i + lag] ~ x[i]): the peak of the cross-correlation
// normalized by the energy of y's shifted window, so a louder stretch entering the window does not win.
int best_lag(const float* x, const float* y, std::int64_t frames, int max_lag) {
  int best = 0;
  double best_value = -INFINITY;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    double sum = 0, energy = 0;
    for (std::int64_t i = max_lag; i < frames - max_lag; ++i) {
      sum += static_cast<double>(x[i]) * y[i + lag];
      energy += static_cast<double>(y[i + lag]) * y[i + lag];
    }
    const double value = energy > 0 ? sum / std::sqrt(energy) : 0;
    if (value > best_value) {
      best_value = value;
      best = lag;
    }
  }
  return best;
}

double norm(const float* a, std::size_t n) {
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * a[i];
  return std::sqrt(sum);
}

double rel_error(const float* a, const float* b, std::size_t n) {
  return test::rel_error(std::span<const float>(a, n), std::span<const float>(b, n));
}

}  // namespace

TEST(Augment, TiltHasTheAskedSlopeInDbPerOctave) {
  constexpr int kRate = 44100;
  const std::int64_t frames = 4 * kRate;
  const std::vector<float> clean = noise(frames, 1, 7);
  const std::vector<double> before = power_spectrum(clean.data(), frames);
  for (double slope : {2.0, -1.5, 0.5, 3.0}) {
    std::vector<float> x = clean;
    apply_tilt(x.data(), 1, frames, frames, kRate, slope);
    const std::vector<double> after = power_spectrum(x.data(), frames);
    // Every octave band from 125 Hz to 8 kHz sits on the line slope x octaves from 1 kHz, within a dB.
    double fitted = 0, weights = 0;
    for (int octave = -3; octave <= 3; ++octave) {
      const double gain = band_gain_db(after, before, 1000 * std::exp2(octave), kRate);
      EXPECT_NEAR(gain, slope * octave, 1.0) << slope << " dB/octave at " << 1000 * std::exp2(octave) << " Hz";
      fitted += gain * octave;
      weights += octave * octave;
    }
    EXPECT_NEAR(fitted / weights, slope, 0.05 * std::abs(slope) + 0.02) << "least-squares slope";
    EXPECT_NEAR(band_gain_db(after, before, 1000, kRate), 0.0, 0.3) << "the pivot";
  }
  // 0 dB/octave is no change at all; stereo channels are filtered alike.
  std::vector<float> x = clean;
  apply_tilt(x.data(), 1, frames, frames, kRate, 0.0);
  EXPECT_EQ(x, clean);
  std::vector<float> stereo(2 * clean.size());
  std::copy(clean.begin(), clean.end(), stereo.begin());
  std::copy(clean.begin(), clean.end(), stereo.begin() + frames);
  apply_tilt(stereo.data(), 2, frames, frames, kRate, 1.0);
  EXPECT_TRUE(std::equal(stereo.begin(), stereo.begin() + frames, stereo.begin() + frames));
}

TEST(Augment, TiltAtLowRatesLeavesOutShelvesNearNyquist) {
  constexpr int kRate = 8000;  // shelves at 62.5, 250 and 1000 Hz only
  const std::int64_t frames = 4 * kRate;
  const std::vector<float> clean = noise(frames, 1, 8);
  std::vector<float> x = clean;
  apply_tilt(x.data(), 1, frames, frames, kRate, 2.0);
  const std::vector<double> before = power_spectrum(clean.data(), frames), after = power_spectrum(x.data(), frames);
  for (int octave = -3; octave <= 0; ++octave)
    EXPECT_NEAR(band_gain_db(after, before, 1000 * std::exp2(octave), kRate), 2.0 * octave, 1.0);
  for (float v : x) ASSERT_TRUE(std::isfinite(v));
}

TEST(Augment, MonoFoldAveragesTheChannels) {
  std::vector<float> x = {1, 2, 3, 5, 6, 7};  // two channels of three frames
  fold_to_mono(x.data(), 2, 3, 3);
  EXPECT_EQ(x, (std::vector<float>{3, 4, 5, 3, 4, 5}));
  std::vector<float> mono = {1, 2, 3};
  fold_to_mono(mono.data(), 1, 3, 3);
  EXPECT_EQ(mono, (std::vector<float>{1, 2, 3}));
}

TEST(Augment, ResampleRoundTripKeepsLengthAlignmentAndTheBandBelow20kHz) {
  constexpr int kRate = 44100;
  const std::int64_t frames = 2 * kRate + 17;  // an odd length: round(round(n * 48/44.1) * 44.1/48) != n
  std::vector<float> kept(static_cast<std::size_t>(frames)), high(kept.size());
  for (std::int64_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / kRate;
    for (double f : {100.0, 1000.0, 5000.0, 12000.0, 18000.0, 19500.0})
      kept[static_cast<std::size_t>(i)] += static_cast<float>(0.1 * std::sin(2 * std::numbers::pi * f * t + f));
    high[static_cast<std::size_t>(i)] = static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * 21500.0 * t));
  }
  const std::int64_t edge = 2000;  // the round trip treats the excerpt as a file: zero outside it
  const std::size_t interior = static_cast<std::size_t>(frames - 2 * edge);
  for (int via : {48000, 96000, 32000}) {
    std::vector<float> x = kept;
    resample_round_trip(x.data(), 1, frames, frames, kRate, via);
    if (via != 32000) {  // 32 kHz keeps only up to 14.4 kHz: checked below
      EXPECT_LT(rel_error(x.data() + edge, kept.data() + edge, interior), 2e-3) << via;
    }
    std::vector<float> y = high;
    resample_round_trip(y.data(), 1, frames, frames, kRate, via);
    // 21.5 kHz is above the passband: at least 20 dB down.
    EXPECT_LT(norm(y.data() + edge, interior) / norm(high.data() + edge, interior), 0.1) << via;
  }
  // Through 32 kHz the band above 0.9 x 16 kHz is lost, the band below kept.
  std::vector<float> low(static_cast<std::size_t>(frames));
  for (std::int64_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / kRate;
    low[static_cast<std::size_t>(i)] =
        static_cast<float>(0.2 * std::sin(2 * std::numbers::pi * 3000.0 * t) +
                           0.2 * std::sin(2 * std::numbers::pi * 13000.0 * t));
  }
  std::vector<float> z = low;
  resample_round_trip(z.data(), 1, frames, frames, kRate, 32000);
  EXPECT_LT(rel_error(z.data() + edge, low.data() + edge, interior), 2e-3);

  // Noise comes back best aligned at lag 0, at the same level below the cut.
  const std::vector<float> white = noise(frames, 2, 3);
  std::vector<float> w = white;
  resample_round_trip(w.data(), 2, frames, frames, kRate, 48000);
  for (int c = 0; c < 2; ++c) EXPECT_EQ(best_lag(white.data() + c * frames, w.data() + c * frames, frames, 200), 0);
  const std::vector<double> before = power_spectrum(white.data(), frames), after = power_spectrum(w.data(), frames);
  for (double hz : {200.0, 2000.0, 10000.0, 18000.0})
    EXPECT_NEAR(band_gain_db(after, before, hz, kRate), 0.0, 0.1) << hz;
  EXPECT_LT(gain_between_db(after, before, 21200.0, 22000.0, kRate), -10.0);
}

TEST(Augment, ResampleRatesOutsideTheFilterAreProblems) {
  EXPECT_EQ(round_trip_problem(44100, 48000), "");
  EXPECT_EQ(round_trip_problem(8000, 48000), "");
  EXPECT_NE(round_trip_problem(44100, 44100), "");
  EXPECT_EQ(round_trip_problem(44100, 44101),
            "44100 Hz <-> 44101 Hz is a 44100:44101 ratio; the filter allows at most 1024 phases");
  EXPECT_NE(round_trip_problem(44100, 400000), "");
  std::vector<float> x(100);
  EXPECT_THROW(resample_round_trip(x.data(), 1, 100, 100, 44100, 44101), Error);
}

TEST(Augment, CodecRoundTripIsCloseNotEqualAndTimeAligned) {
  constexpr int kRate = 44100;
  const Audio song = test::song_like_audio(3.0, kRate, 2, 11);
  const std::int64_t frames = song.frames;
  for (Codec codec : {Codec::Mp3, Codec::Vorbis, Codec::Opus}) {
    SCOPED_TRACE(std::string(codec_name(codec)));
    std::vector<float> x = song.samples;
    codec_round_trip(x.data(), 2, frames, frames, kRate, codec, 128);
    const double err = test::rel_error(x, song.samples);
    EXPECT_GT(err, 1e-3) << "a lossy codec changes the audio";
    EXPECT_LT(err, 0.3) << "but keeps it recognisable at 128 kbps";
    for (int c = 0; c < 2; ++c) EXPECT_EQ(best_lag(song.channel(c), x.data() + c * frames, frames, 1500), 0);
    // The same input gives the same output (batches depend only on the seed).
    std::vector<float> again = song.samples;
    codec_round_trip(again.data(), 2, frames, frames, kRate, codec, 128);
    EXPECT_EQ(again, x);
    // Fewer bits, more error.
    std::vector<float> low = song.samples, high = song.samples;
    codec_round_trip(low.data(), 2, frames, frames, kRate, codec, 48);
    codec_round_trip(high.data(), 2, frames, frames, kRate, codec, 256);
    EXPECT_GT(test::rel_error(low, song.samples), test::rel_error(high, song.samples));
  }
}

TEST(Augment, CodecRoundTripAtOtherRatesMonoAndLoud) {
  for (int rate : {8000, 16000, 48000}) {
    const Audio song = test::song_like_audio(1.0, rate, 1, 12);
    for (Codec codec : {Codec::Mp3, Codec::Vorbis, Codec::Opus}) {
      SCOPED_TRACE(std::string(codec_name(codec)) + " at " + std::to_string(rate));
      ASSERT_EQ(codec_problem(codec, rate), "");
      std::vector<float> x = song.samples;
      codec_round_trip(x.data(), 1, song.frames, song.frames, rate, codec, 64);
      EXPECT_LT(test::rel_error(x, song.samples), 0.5);
      EXPECT_EQ(best_lag(song.samples.data(), x.data(), song.frames, 400), 0);
    }
  }
  // Low bitrates too, at every MP3 rate: each comes back time-aligned (a shifted mix would be an error, not a
  // silent pad; MP3 is VBR, whose info header, the decoder's cue to drop the encoder delay, always fits).
  for (int rate : {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000}) {
    const Audio song = test::song_like_audio(0.4, rate, 2, 14);
    for (int kbps : {8, 24, 40, 56}) {
      for (Codec codec : {Codec::Mp3, Codec::Vorbis, Codec::Opus}) {
        SCOPED_TRACE(std::string(codec_name(codec)) + " at " + std::to_string(rate) + " Hz, " + std::to_string(kbps) +
                     " kbps");
        std::vector<float> x = song.samples;
        ASSERT_NO_THROW(codec_round_trip(x.data(), 2, song.frames, song.frames, rate, codec, kbps));
        // Opus below ~28 kbps per channel codes with SILK, which keeps the spectrum rather than the waveform:
        // its best match may sit a sample or two off.
        const int slack = codec == Codec::Opus && kbps < 56 ? 2 : 0;
        EXPECT_LE(std::abs(best_lag(song.samples.data(), x.data(), song.frames, 400)), slack);
      }
    }
  }
  // A mix peaking at 3 is scaled into range for the encoder and back: no clipping.
  const Audio song = test::song_like_audio(1.0, 44100, 2, 13);
  float peak = 0;
  for (float v : song.samples) peak = std::max(peak, std::abs(v));
  std::vector<float> loud = song.samples;
  for (float& v : loud) v *= 3.f / peak;
  const std::vector<float> reference = loud;
  codec_round_trip(loud.data(), 2, song.frames, song.frames, 44100, Codec::Mp3, 192);
  EXPECT_LT(test::rel_error(loud, reference), 0.3);
  float out_peak = 0;
  for (float v : loud) out_peak = std::max(out_peak, std::abs(v));
  EXPECT_GT(out_peak, 2.f);
  // Rates a codec has no mode for are named.
  EXPECT_NE(codec_problem(Codec::Mp3, 96000), "");
  EXPECT_NE(codec_problem(Codec::Opus, 44101), "");
  EXPECT_EQ(codec_problem(Codec::Opus, 44100), "");  // through 48 kHz
}

TEST(Augment, ListsParseAndBadEntriesAreNamed) {
  EXPECT_EQ(parse_codecs("mp3,vorbis,opus", "--codecs"), (std::vector<Codec>{Codec::Mp3, Codec::Vorbis, Codec::Opus}));
  EXPECT_EQ(parse_codecs(" opus , mp3", "--codecs"), (std::vector<Codec>{Codec::Opus, Codec::Mp3}));
  EXPECT_EQ(codecs_text({Codec::Vorbis, Codec::Mp3}), "vorbis,mp3");
  EXPECT_EQ(parse_rates("48000,32000", "--resample-rates"), (std::vector<int>{48000, 32000}));
  EXPECT_EQ(rates_text({48000, 22050}), "48000,22050");
  const auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([] { parse_codecs("mp3,aac", "--codecs"); }), "--codecs: unknown codec 'aac' (mp3, vorbis or opus)");
  EXPECT_EQ(message([] { parse_codecs("mp3,mp3", "--codecs"); }), "--codecs: codec 'mp3' is listed twice");
  EXPECT_EQ(message([] { parse_codecs("", "--codecs"); }), "--codecs: '' has an empty entry (a comma-separated list)");
  EXPECT_EQ(message([] { parse_rates("48k", "--resample-rates"); }), "--resample-rates: '48k' is not a sample rate in Hz");
  EXPECT_EQ(message([] { parse_rates("48000,", "--resample-rates"); }),
            "--resample-rates: '48000,' has an empty entry (a comma-separated list)");
}
