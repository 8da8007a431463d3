// The LV2 host on the installed plugins: channel mapping, an amplifier and a cabinet with atom ports and
// worker jobs, determinism of every vetted plugin, latency compensation, and the one-line errors.
// The plugins come from Debian packages that scripts/install-deps.sh installs; a missing one fails here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numbers>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"
#include "unmix/audio.h"
#include "unmix/error.h"
#include "unmix/fx/lv2.h"
#include "unmix/fx/vetted_plugins.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

using namespace unmix;
using namespace unmix::fx;

namespace {

constexpr int kRate = 44100;
const std::string kGxAmp = "http://guitarix.sourceforge.net/plugins/gx_amp#GUITARIX";
const std::string kGxCabinet = "http://guitarix.sourceforge.net/plugins/gx_cabinet#CABINET";
const std::string kFil4Mono = "http://gareus.org/oss/lv2/fil4#mono";
const std::string kFil4Stereo = "http://gareus.org/oss/lv2/fil4#stereo";
const std::string kSlapDelay = "http://lsp-plug.in/plugins/lv2/slap_delay_mono";
const std::string kDplMono = "http://gareus.org/oss/lv2/dpl#mono";
const std::string kLspEq = "http://lsp-plug.in/plugins/lv2/para_equalizer_x16_mono";
const std::string kLspCompressor = "http://lsp-plug.in/plugins/lv2/compressor_mono";

// Fails (rather than skips) when a plugin is missing: CI installs the packages.
testing::AssertionResult installed(const std::string& uri) {
  if (lv2_world().has(uri)) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "LV2 plugin " << uri << " is not installed: install Debian package "
                                     << lv2_package_for(uri) << " (scripts/install-deps.sh does)";
}

Audio silence(int channels, double seconds) {
  Audio a;
  a.sample_rate = kRate;
  a.channels = channels;
  a.frames = static_cast<std::int64_t>(seconds * kRate);
  a.samples.assign(static_cast<std::size_t>(channels * a.frames), 0.0f);
  return a;
}

void add_sine(Audio& a, int channel, double freq, double amplitude) {
  for (std::int64_t t = 0; t < a.frames; ++t)
    a.channel(channel)[t] += static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * freq * static_cast<double>(t) / kRate));
}

// Plucked notes with decaying harmonics on every channel (a different melody on each): something between a
// guitar and a test tone, with quiet tails for gates and compressors to act on.
Audio plucks(int channels, double seconds) {
  Audio a = silence(channels, seconds);
  const double notes[] = {82.4, 110.0, 146.8, 196.0, 246.9, 329.6};
  for (int c = 0; c < channels; ++c)
    for (std::int64_t t = 0; t < a.frames; ++t) {
      const double time = static_cast<double>(t) / kRate;
      const int n = static_cast<int>(time / 0.5);
      const double s = time - 0.5 * n;
      const double f = notes[(n * 7 + c) % 6];
      double v = 0;
      for (int h = 1; h <= 8; ++h) v += std::sin(2 * std::numbers::pi * f * h * s) * std::exp(-s * (4.0 + h)) / h;
      a.channel(c)[t] = static_cast<float>(0.4 * v);
    }
  return a;
}

// Amplitude of the component at `freq` in x[begin, end): a single-bin DFT, in a window of whole periods.
double level_at(const float* x, std::int64_t begin, std::int64_t end, double freq) {
  double re = 0, im = 0;
  for (std::int64_t t = begin; t < end; ++t) {
    const double phase = 2 * std::numbers::pi * freq * static_cast<double>(t) / kRate;
    re += x[t] * std::cos(phase);
    im += x[t] * std::sin(phase);
  }
  return 2 * std::hypot(re, im) / static_cast<double>(end - begin);
}

// Harmonics 2..10 over the fundamental, as amplitudes.
double harmonic_distortion(const Audio& a, double freq) {
  const std::int64_t begin = kRate / 2, end = begin + kRate / 2;
  double sum = 0;
  for (int h = 2; h <= 10; ++h) sum += std::pow(level_at(a.channel(0), begin, end, freq * h), 2);
  return std::sqrt(sum) / level_at(a.channel(0), begin, end, freq);
}

// Power of x in [lo, hi) Hz over its second half, from single-bin DFTs 10 Hz apart.
double band_power(const Audio& a, double lo, double hi) {
  double sum = 0;
  for (double f = lo; f < hi; f += 10) sum += std::pow(level_at(a.channel(0), a.frames / 2, a.frames, f), 2);
  return sum;
}

std::int64_t loudest_frame(const Audio& a) {
  const auto it = std::max_element(a.samples.begin(), a.samples.end(), [](float x, float y) { return std::abs(x) < std::abs(y); });
  return it - a.samples.begin();
}

double db(double ratio) { return 20 * std::log10(ratio); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Lv2, VettedPluginsAreInstalledAndTheirPackagesNamed) {
  ASSERT_FALSE(vetted_plugins().empty());
  for (const VettedPlugin& p : vetted_plugins()) {
    EXPECT_TRUE(installed(std::string(p.uri)));
    EXPECT_EQ(p.package, lv2_package_for(p.uri)) << p.uri;
    EXPECT_EQ(find_vetted(p.uri), &p);
  }
  EXPECT_EQ(find_vetted("http://example.org/none"), nullptr);
  for (const VettedPlugin& p : vetted_for(FxRole::Amp)) EXPECT_TRUE(p.deterministic) << p.uri;
  EXPECT_GT(vetted_for(FxRole::Amp, true).size(), vetted_for(FxRole::Amp).size());
  EXPECT_EQ(role_name(FxRole::Cabinet), "cabinet");
}

// A +12 dB bell at 1 kHz, measured: once per channel for the mono plugin; the silent channel stays silent.
TEST(Lv2, MonoPluginRunsOncePerChannelAndStereoPluginOnce) {
  for (const std::string& uri : {kFil4Mono, kFil4Stereo}) {
    ASSERT_TRUE(installed(uri));
    Audio a = silence(2, 1.0);
    add_sine(a, 0, 1000, 0.1);
    Lv2Effect fx(uri, kRate, 2);
    EXPECT_EQ(fx.instances(), uri == kFil4Mono ? 2 : 1) << uri;
    fx.set("freq1", 1000);
    fx.set("gain1", 12);
    fx.run(a);
    const double gain = level_at(a.channel(0), kRate / 2, kRate, 1000) / 0.1;
    EXPECT_NEAR(db(gain), 12.0, 0.5) << uri;
    // fil4 adds a tiny offset against denormals (about 1e-9), far below anything audible
    for (std::int64_t t = 0; t < a.frames; ++t) ASSERT_LT(std::abs(a.channel(1)[t]), 1e-6f) << uri << " frame " << t;
  }
}

// The mapping of the header, checked on the data: a mono-in/stereo-out plugin on mono audio gives the mean of
// what it gives on the same audio as stereo; a stereo plugin on mono audio gives its left output.
TEST(Lv2, ChannelMappingForMismatchedPlugins) {
  for (const std::string& uri : {kSlapDelay, kFil4Stereo}) {
    ASSERT_TRUE(installed(uri));
    const Audio source = plucks(1, 1.0);
    Audio mono = source;
    Audio stereo = silence(2, 1.0);
    std::copy_n(source.channel(0), source.frames, stereo.channel(0));
    std::copy_n(source.channel(0), source.frames, stereo.channel(1));
    Lv2Effect(uri, kRate, 1).run(mono);
    Lv2Effect(uri, kRate, 2).run(stereo);
    bool audible = false;
    for (std::int64_t t = 0; t < mono.frames; ++t) {
      const float expected = uri == kSlapDelay ? 0.5f * (stereo.channel(0)[t] + stereo.channel(1)[t]) : stereo.channel(0)[t];
      ASSERT_EQ(mono.channel(0)[t], expected) << uri << " frame " << t;
      audible |= std::abs(expected) > 0.01f;
    }
    EXPECT_TRUE(audible) << uri;
  }
}

// gx_amp has atom ports and loads its convolvers through worker jobs. Clean, it keeps a sine nearly pure;
// driven hard, it turns it into a harmonic series.
TEST(Lv2, AmplifierWithAtomPortsAddsHarmonics) {
  ASSERT_TRUE(installed(kGxAmp));
  const auto through = [&](const std::vector<std::pair<std::string, float>>& settings) {
    Audio a = silence(1, 1.0);
    add_sine(a, 0, 220, 0.3);
    Lv2Effect amp(kGxAmp, kRate, 1);
    for (const auto& [symbol, value] : settings) amp.set(symbol, value);
    amp.run(a);
    for (float x : a.samples) EXPECT_TRUE(std::isfinite(x));
    EXPECT_GT(level_at(a.channel(0), kRate / 2, kRate, 220), 0.001);
    EXPECT_TRUE(amp.plugin().messages().empty()) << amp.plugin().messages();
    return harmonic_distortion(a, 220);
  };
  Audio pure = silence(1, 1.0);
  add_sine(pure, 0, 220, 0.3);
  EXPECT_LT(harmonic_distortion(pure, 220), 1e-3);
  const double clean = through({{"PreGain", -10}, {"Distortion", 1}, {"Drive", 0.01f}});
  // 12ax7 with feedback, JCM-800 tone stack, Marshall cabinet, all turned up
  const double driven = through({{"PreGain", 10}, {"Distortion", 80}, {"Drive", 0.8f}, {"model", 6}, {"t_model", 4}, {"c_model", 8}});
  EXPECT_LT(clean, 0.02);
  EXPECT_GT(driven, 0.1);
}

// gx_cabinet changes its impulse response in a worker job: the default 4x12 takes the treble off white
// noise, model 18 ("Off") passes it through, and another model sounds different.
TEST(Lv2, CabinetModelsLoadThroughTheWorker) {
  ASSERT_TRUE(installed(kGxCabinet));
  Audio noise = silence(1, 1.0);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-0.2f, 0.2f);
  for (float& x : noise.samples) x = u(rng);
  const auto through = [&](float model) {
    Audio a = noise;
    Lv2Effect cab(kGxCabinet, kRate, 1);
    cab.set("c_model", model);
    cab.run(a);
    return a;
  };
  const Audio off = through(18);
  EXPECT_EQ(off.samples, noise.samples);
  const Audio four_by_twelve = through(0);
  const double tilt_in = band_power(noise, 8000, 12000) / band_power(noise, 200, 2000);
  const double tilt_out = band_power(four_by_twelve, 8000, 12000) / band_power(four_by_twelve, 200, 2000);
  EXPECT_LT(10 * std::log10(tilt_out / tilt_in), -20.0) << "the 4x12 cabinet should cut 8-12 kHz by 20 dB or more";
  EXPECT_NE(through(5).samples, four_by_twelve.samples);
}

// Two fresh instances give the same bytes, also when two run at once in two threads while a third exists.
TEST(Lv2, DeterministicVettedPluginsAreDeterministic) {
  const Audio source = plucks(2, 1.5);
  for (const VettedPlugin& p : vetted_plugins()) {
    if (!p.deterministic) continue;
    const std::string uri(p.uri);
    ASSERT_TRUE(installed(uri));
    const auto run = [&](Audio& a) { Lv2Effect(uri, kRate, 2).run(a); };
    Audio reference = source;
    run(reference);
    for (float x : reference.samples) ASSERT_TRUE(std::isfinite(x)) << uri;
    Audio again = source;
    run(again);
    EXPECT_EQ(again.samples, reference.samples) << uri << ": a second fresh instance differs";
    Lv2Plugin idle(uri, kRate);
    Audio first = source, second = source;
    std::thread t1([&] { run(first); });
    std::thread t2([&] { run(second); });
    t1.join();
    t2.join();
    EXPECT_EQ(first.samples, reference.samples) << uri << ": differs when run in two threads at once";
    EXPECT_EQ(second.samples, reference.samples) << uri << ": differs when run in two threads at once";
  }
}

// An impulse comes out where it went in, whatever latency the plugin reports (less or more than a block).
TEST(Lv2, ReportedLatencyIsCompensated) {
  struct Case {
    std::string uri;
    std::vector<std::pair<std::string, float>> settings;
    int latency;
  };
  const std::vector<Case> cases = {
      {kDplMono, {}, 56},
      {kLspCompressor, {{"sla", 10}}, 441},  // 10 ms lookahead
      {kLspEq, {{"mode", 1}, {"ft_0", 1}, {"f_0", 1000}, {"g_0", 4}, {"q_0", 1}}, 6144},  // FIR mode
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(installed(c.uri));
    Audio a = silence(1, 1.0);
    a.samples[10007] = 0.25f;
    Lv2Effect fx(c.uri, kRate, 1);
    EXPECT_TRUE(fx.plugin().reports_latency()) << c.uri;
    for (const auto& [symbol, value] : c.settings) fx.set(symbol, value);
    fx.run(a);
    EXPECT_EQ(fx.latency(), c.latency) << c.uri;
    EXPECT_EQ(a.frames, kRate);
    EXPECT_EQ(loudest_frame(a), 10007) << c.uri;
  }
}

TEST(Lv2, MissingPluginIsAOneLineErrorNamingItAndItsPackage) {
  const std::string uri = "http://guitarix.sourceforge.net/plugins/gx_no_such_plugin#x";
  const std::string message = error_of([&] { Lv2Plugin p(uri, kRate); });
  EXPECT_NE(message.find(uri), std::string::npos) << message;
  EXPECT_NE(message.find("not installed"), std::string::npos) << message;
  EXPECT_NE(message.find("guitarix-lv2"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(error_of([&] { Lv2Effect e("urn:nobody:nothing", kRate, 2); }).find("urn:nobody:nothing"), std::string::npos);
}

// None of the 390 plugins installed by the Debian packages needs more than the host offers (all of them
// instantiate and run, except calf's Wavetable synth, which crashes in its own run()), so the refusals are
// checked on bundles made here: the checks come before instantiation and need no binary.
TEST(Lv2, PluginsNeedingWhatTheHostLacksAreRefused) {
  const std::filesystem::path dir = unmix::test::temp_dir("lv2-bundle");
  std::ofstream(dir / "manifest.ttl") << R"(@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<urn:unmix:test:instance-access> a lv2:Plugin ; lv2:binary <none.so> ; rdfs:seeAlso <plugins.ttl> .
<urn:unmix:test:cv> a lv2:Plugin ; lv2:binary <none.so> ; rdfs:seeAlso <plugins.ttl> .
<urn:unmix:test:option> a lv2:Plugin ; lv2:binary <none.so> ; rdfs:seeAlso <plugins.ttl> .
)";
  std::ofstream(dir / "plugins.ttl") << R"(@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix doap: <http://usefulinc.com/ns/doap#> .
@prefix opts: <http://lv2plug.in/ns/ext/options#> .
<urn:unmix:test:instance-access> a lv2:Plugin ; doap:name "needs instance access" ;
  lv2:requiredFeature <http://lv2plug.in/ns/ext/instance-access> ;
  lv2:port [ a lv2:InputPort, lv2:AudioPort ; lv2:index 0 ; lv2:symbol "in" ; lv2:name "In" ] ,
           [ a lv2:OutputPort, lv2:AudioPort ; lv2:index 1 ; lv2:symbol "out" ; lv2:name "Out" ] .
<urn:unmix:test:cv> a lv2:Plugin ; doap:name "has a CV input" ;
  lv2:port [ a lv2:InputPort, lv2:CVPort ; lv2:index 0 ; lv2:symbol "mod" ; lv2:name "Mod" ] ,
           [ a lv2:OutputPort, lv2:AudioPort ; lv2:index 1 ; lv2:symbol "out" ; lv2:name "Out" ] .
<urn:unmix:test:option> a lv2:Plugin ; doap:name "needs an option" ;
  opts:requiredOption <urn:unmix:test:some-option> ;
  lv2:port [ a lv2:OutputPort, lv2:AudioPort ; lv2:index 0 ; lv2:symbol "out" ; lv2:name "Out" ] .
)";
  lv2_world().load_bundle(dir);
  for (const char* uri : {"urn:unmix:test:instance-access", "urn:unmix:test:cv", "urn:unmix:test:option"})
    EXPECT_TRUE(lv2_world().has(uri)) << uri;
  const std::string feature = error_of([] { Lv2Plugin p("urn:unmix:test:instance-access", kRate); });
  EXPECT_NE(feature.find("urn:unmix:test:instance-access"), std::string::npos) << feature;
  EXPECT_NE(feature.find("requires LV2 features this host does not provide: http://lv2plug.in/ns/ext/instance-access"),
            std::string::npos)
      << feature;
  const std::string cv = error_of([] { Lv2Plugin p("urn:unmix:test:cv", kRate); });
  EXPECT_NE(cv.find("port mod is a CV port"), std::string::npos) << cv;
  const std::string option = error_of([] { Lv2Plugin p("urn:unmix:test:option", kRate); });
  EXPECT_NE(option.find("urn:unmix:test:some-option"), std::string::npos) << option;
  EXPECT_NE(error_of([&] { lv2_world().load_bundle(dir / "missing"); }).find("no manifest.ttl"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Lv2, ControlValuesAreCheckedNeverClamped) {
  ASSERT_TRUE(installed(kGxAmp));
  Lv2Plugin amp(kGxAmp, kRate);
  EXPECT_EQ(amp.audio_inputs(), 1);
  EXPECT_EQ(amp.audio_outputs(), 1);
  EXPECT_FALSE(amp.reports_latency());
  EXPECT_EQ(amp.control("PreGain").min, -20.0f);
  EXPECT_EQ(amp.control("PreGain").max, 20.0f);
  amp.set("PreGain", 20);
  EXPECT_EQ(amp.get("PreGain"), 20.0f);

  const std::string range = error_of([&] { amp.set("PreGain", 30); });
  EXPECT_NE(range.find(kGxAmp), std::string::npos) << range;
  EXPECT_NE(range.find("PreGain"), std::string::npos) << range;
  EXPECT_NE(range.find("[-20, 20]"), std::string::npos) << range;
  EXPECT_EQ(range.find('\n'), std::string::npos) << range;
  EXPECT_EQ(amp.get("PreGain"), 20.0f);

  EXPECT_NE(error_of([&] { amp.set("Gian", 1); }).find("no control input 'Gian'"), std::string::npos);
  EXPECT_NE(error_of([&] { amp.set("model", 2.5f); }).find("integer"), std::string::npos);
  EXPECT_NE(error_of([&] { amp.set("BYPASS", 0.5f); }).find("toggle"), std::string::npos);
  EXPECT_NE(error_of([&] { amp.set("Drive", NAN); }).find("not finite"), std::string::npos);
  EXPECT_NE(error_of([&] { amp.get("nothing"); }).find("nothing"), std::string::npos);
}

TEST(Lv2, AudioOfAnotherShapeIsAnError) {
  ASSERT_TRUE(installed(kFil4Mono));
  Lv2Effect fx(kFil4Mono, kRate, 2);
  Audio mono = silence(1, 0.1);
  EXPECT_NE(error_of([&] { fx.run(mono); }).find("channels"), std::string::npos);
  Audio other_rate = silence(2, 0.1);
  other_rate.sample_rate = 48000;
  EXPECT_NE(error_of([&] { fx.run(other_rate); }).find("48000 Hz"), std::string::npos);
  EXPECT_NE(error_of([&] { Lv2Effect e(kFil4Mono, kRate, 3); }).find("3 channels"), std::string::npos);
}

#if defined(__x86_64__) || defined(__i386__)
// gx_cabinet switches on flush-to-zero in instantiate and leaves it on; the host keeps that, and its own
// FTZ/DAZ, from the caller's thread.
TEST(Lv2, CallersFloatingPointModeIsRestored) {
  ASSERT_TRUE(installed(kGxCabinet));
  const auto mode = [] { return _mm_getcsr() & ~0x3Fu; };  // the control bits, not the sticky exception flags
  const unsigned before = mode();
  Audio a = plucks(1, 0.2);
  Lv2Effect cabinet(kGxCabinet, kRate, 1);
  EXPECT_EQ(mode(), before);
  cabinet.run(a);
  EXPECT_EQ(mode(), before);
}
#endif
