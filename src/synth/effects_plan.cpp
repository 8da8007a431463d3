// Signal chains for the stems, as a studio would set them up, drawn from the part's seed:
//   guitars    the DI through gate / boost / amp / cabinet / EQ (or, acoustic, EQ and compression), then
//              modulation, delay and reverb after panning;
//   every stem the mix engineer's EQ (high-pass, a bell, a shelf) and compression.
// Only deterministic plugins from the vetted table (unmix/fx/vetted_plugins.h, docs/lv2-plugins.md) are
// used, with control values inside their declared ranges.
#include <cmath>
#include <string>

#include "unmix/synth/random.h"
#include "unmix/synth/song_plan.h"

namespace unmix::synth {

namespace {

constexpr std::uint64_t kEffectsTag = 0xeffc;

const char* const kAmp = "http://guitarix.sourceforge.net/plugins/gx_amp#GUITARIX";
const char* const kStudioPre = "http://guitarix.sourceforge.net/plugins/gx_studiopre#studiopre";
const char* const kChump = "http://guitarix.sourceforge.net/plugins/gx_redeye#chump";
const char* const kBigChump = "http://guitarix.sourceforge.net/plugins/gx_redeye#bigchump";
const char* const kMetalAmp = "http://guitarix.sourceforge.net/plugins/gxmetal_amp#metal_amp";
const char* const kMetalHead = "http://guitarix.sourceforge.net/plugins/gxmetal_head#metal_head";
const char* const kTubeScreamer = "http://guitarix.sourceforge.net/plugins/gxts9#ts9sim";
const char* const kCabinet = "http://guitarix.sourceforge.net/plugins/gx_cabinet#CABINET";
const char* const kGate = "http://lsp-plug.in/plugins/lv2/gate_mono";
const char* const kEqMono = "http://gareus.org/oss/lv2/fil4#mono";
const char* const kEqStereo = "http://gareus.org/oss/lv2/fil4#stereo";
const char* const kCompMono = "http://lsp-plug.in/plugins/lv2/compressor_mono";
const char* const kCompStereo = "http://lsp-plug.in/plugins/lv2/compressor_stereo";
const char* const kChorus = "http://guitarix.sourceforge.net/plugins/gx_chorus_stereo#_chorus_stereo";
const char* const kPhaser = "http://guitarix.sourceforge.net/plugins/gx_phaser#_phaser";
const char* const kDelay = "http://guitarix.sourceforge.net/plugins/gx_delay_stereo#_delay_stereo";
const char* const kZita = "http://guitarix.sourceforge.net/plugins/gx_zita_rev1_stereo#_zita_rev1_stereo";
const char* const kRoomReverb = "http://guitarix.sourceforge.net/plugins/gx_reverb_stereo#_reverb_stereo";

// gx_cabinet / gx_amp cabinet models by character (0 4x12, 1 2x12, 2 1x12, 3 4x10, 4 2x10, 5 HighGain,
// 6 Twin, 7 Bassman, 8 Marshall, 9 AC30, 10 Princeton, 11 A2, 12 1x15, 13 Mesa)
constexpr int kCleanCabs[] = {1, 2, 3, 4, 6, 7, 9, 10, 11};
constexpr int kCrunchCabs[] = {0, 1, 8, 9, 13};
constexpr int kHighGainCabs[] = {0, 5, 8, 13};

struct Draw {
  Rng rng;
  float u(double lo, double hi) { return static_cast<float>(rng.uniform(lo, hi)); }
  float i(int lo, int hi) { return static_cast<float>(rng.integer(lo, hi)); }
  float db(double lo, double hi) { return static_cast<float>(std::pow(10.0, rng.uniform(lo, hi) / 20.0)); }  // linear
  float pick(std::span<const int> options) { return static_cast<float>(rng.pick(options)); }
  float toggle(double p) { return rng.chance(p) ? 1.f : 0.f; }
};

PluginSetting eq(Draw& d, bool mono, double highpass_lo, double highpass_hi, bool lowpass) {
  PluginSetting s{mono ? kEqMono : kEqStereo, {}};
  s.controls = {{"HighPass", highpass_hi > 0 ? 1.f : 0.f},
                {"HPfreq", highpass_hi > 0 ? d.u(highpass_lo, highpass_hi) : 20.f},
                {"LSgain", d.u(-3, 2)},
                {"freq2", d.u(150, 600)},
                {"q2", d.u(0.5, 1.5)},
                {"gain2", d.u(-5, 2)},
                {"freq3", d.u(800, 4000)},
                {"q3", d.u(0.5, 1.5)},
                {"gain3", d.u(-3, 4)},
                {"HSgain", d.u(-3, 3)},
                {"HSfreq", d.u(4000, 10000)},
                {"LowPass", lowpass ? 1.f : 0.f},
                {"LPfreq", lowpass ? d.u(8000, 16000) : 20000.f}};
  return s;
}

PluginSetting compressor(Draw& d, bool mono, double threshold_db_lo, double threshold_db_hi, double ratio_lo,
                         double ratio_hi) {
  return {mono ? kCompMono : kCompStereo,
          {{"al", d.db(threshold_db_lo, threshold_db_hi)},
           {"cr", d.u(ratio_lo, ratio_hi)},
           {"at", d.u(3, 30)},
           {"rt", d.u(50, 250)},
           {"kn", d.u(0.1, 0.6)}}};
}

PluginSetting cabinet(Draw& d, std::span<const int> models) {
  return {kCabinet, {{"c_model", d.pick(models)}, {"CBass", d.u(-3, 3)}, {"CTreble", d.u(-3, 3)}}};
}

void reverb(Draw& d, StemEffects& e, double short_lo, double short_hi) {
  if (d.rng.chance(0.6)) {
    const float mid = d.u(short_lo, short_hi);
    e.send.push_back({kZita,
                      {{"MID_RT60", mid},
                       {"LOW_RT60", std::min(8.f, mid * d.u(1.0, 1.4))},
                       {"IN_DELAY", d.u(20, 60)},
                       {"HF_DAMPING", d.u(3000, 9000)},
                       {"DRY_WET_MIX", d.u(-0.85, -0.5)}}});
  } else {
    e.send.push_back({kRoomReverb, {{"roomsize", d.u(0.2, 0.7)}, {"damp", d.u(0.2, 0.7)}, {"dry_wet", d.u(8, 30)}}});
  }
}

void delay(Draw& d, StemEffects& e) {
  const float left = d.u(180, 650);
  e.send.push_back({kDelay,
                    {{"mode", d.i(0, 1)},
                     {"timt_l", left},
                     {"timt_r", std::min(5000.f, left * d.u(1.0, 1.5))},
                     {"level_l", d.u(-20, -9)},
                     {"level_r", d.u(-20, -9)}}});
}

void modulation(Draw& d, StemEffects& e, double chorus_p, double phaser_p) {
  const double r = d.rng.uniform();
  if (r < chorus_p)
    e.send.push_back({kChorus, {{"level", d.u(0.3, 0.6)}, {"delay", d.u(0.01, 0.03)}, {"depth", d.u(0.01, 0.05)}, {"freq", d.u(0.3, 2)}}});
  else if (r < chorus_p + phaser_p)
    e.send.push_back({kPhaser, {{"dry_wet", d.u(20, 50)}, {"speed", d.u(0.2, 2)}}});
}

enum class Tone { Acoustic, Clean, Crunch, HighGain };

Tone guitar_tone(Draw& d, const Part& part, const std::string& style) {
  switch (part.guitar_kind) {
    case GuitarKind::Acoustic: return Tone::Acoustic;
    case GuitarKind::CleanElectric: return Tone::Clean;
    case GuitarKind::DistortedElectric: break;
  }
  const double high_gain = style == "metal" ? 1.0 : style == "hard rock" ? 0.7 : style == "rock" ? 0.4 : 0.2;
  return d.rng.chance(high_gain) ? Tone::HighGain : Tone::Crunch;
}

void guitar_insert(Draw& d, Tone tone, StemEffects& e) {
  switch (tone) {
    case Tone::Acoustic:
      e.chain = "acoustic: EQ and compression";
      e.insert.push_back(eq(d, true, 60, 120, false));
      e.insert.push_back(compressor(d, true, -24, -12, 2, 4));
      return;
    case Tone::Clean: {
      e.chain = "clean amp";
      const double r = d.rng.uniform();
      if (r < 0.35)
        e.insert.push_back({kStudioPre,
                            {{"volume", d.u(0.3, 0.7)}, {"master", d.u(0.4, 0.7)}, {"bass", d.u(0.3, 0.7)},
                             {"middle", d.u(0.3, 0.7)}, {"treble", d.u(0.3, 0.7)}, {"bright", d.toggle(0.4)}}});
      else if (r < 0.75)
        e.insert.push_back({kAmp,
                            {{"model", d.pick(std::vector<int>{0, 1, 2, 3, 5})}, {"t_model", d.i(0, 25)}, {"c_model", 18.f},
                             {"PreGain", d.u(-6, 0)}, {"Distortion", d.u(1, 8)}, {"Drive", d.u(0.05, 0.2)},
                             {"Bass", d.u(0.3, 0.7)}, {"Middle", d.u(0.3, 0.7)}, {"Treble", d.u(0.3, 0.7)},
                             {"Presence", d.u(3, 7)}}});
      else
        e.insert.push_back({kBigChump, {{"Gain", d.u(0.1, 0.35)}, {"Tone", d.u(0.3, 0.7)}, {"Volume", d.u(0.3, 0.6)}}});
      e.insert.push_back(cabinet(d, kCleanCabs));
      e.insert.push_back(eq(d, true, 70, 120, true));
      return;
    }
    case Tone::Crunch: {
      e.chain = "crunch amp";
      if (d.rng.chance(0.3))
        e.insert.push_back({kTubeScreamer, {{"fslider2_", d.u(0.2, 0.6)}, {"fslider0_", d.u(-6, 0)}, {"fslider1_", d.u(300, 700)}}});
      const double r = d.rng.uniform();
      if (r < 0.3)
        e.insert.push_back({kChump, {{"Gain", d.u(0.4, 0.9)}, {"Tone", d.u(0.3, 0.7)}, {"Volume", d.u(0.3, 0.6)}}});
      else if (r < 0.55)
        e.insert.push_back({kBigChump, {{"Gain", d.u(0.6, 1.0)}, {"Tone", d.u(0.3, 0.7)}, {"Volume", d.u(0.3, 0.6)}}});
      else
        e.insert.push_back({kAmp,
                            {{"model", d.pick(std::vector<int>{0, 5, 6, 10})}, {"t_model", d.pick(std::vector<int>{1, 4, 5, 8, 9})},
                             {"c_model", 18.f}, {"PreGain", d.u(-3, 6)}, {"Distortion", d.u(15, 45)}, {"Drive", d.u(0.3, 0.6)},
                             {"Bass", d.u(0.3, 0.7)}, {"Middle", d.u(0.4, 0.8)}, {"Treble", d.u(0.4, 0.7)},
                             {"Presence", d.u(3, 8)}}});
      e.insert.push_back(cabinet(d, kCrunchCabs));
      e.insert.push_back(eq(d, true, 80, 120, true));
      return;
    }
    case Tone::HighGain: {
      e.chain = "high-gain amp";
      e.insert.push_back({kGate, {{"gt", d.db(-52, -38)}, {"gr", d.db(-60, -30)}, {"at", d.u(1, 5)}, {"rt", d.u(40, 150)}}});
      if (d.rng.chance(0.6))  // a Tube Screamer in front tightens the low end, as players do
        e.insert.push_back({kTubeScreamer, {{"fslider2_", d.u(0.0, 0.3)}, {"fslider0_", d.u(-4, 4)}, {"fslider1_", d.u(500, 900)}}});
      const double r = d.rng.uniform();
      if (r < 0.35)
        e.insert.push_back({kMetalAmp,
                            {{"DRIVE", d.u(8, 18)}, {"PREGAIN", d.u(0, 10)}, {"GAIN1", d.u(-6, 6)}, {"TONE", d.u(0.3, 0.7)},
                             {"HIGHGAIN", d.toggle(0.5)}}});
      else if (r < 0.65)
        e.insert.push_back({kMetalHead,
                            {{"DRIVE", d.u(0.4, 0.9)}, {"PREGAIN", d.u(0, 10)}, {"GAIN1", d.u(-6, 6)}, {"TONE", d.u(0.3, 0.7)},
                             {"HIGHGAIN", d.toggle(0.5)}}});
      else
        e.insert.push_back({kAmp,
                            {{"model", d.pick(std::vector<int>{0, 6, 10, 11})}, {"t_model", d.pick(std::vector<int>{5, 6, 7, 9, 10})},
                             {"c_model", 18.f}, {"PreGain", d.u(4, 14)}, {"Distortion", d.u(50, 100)}, {"Drive", d.u(0.6, 1.0)},
                             {"HIGHGAIN", d.toggle(0.5)}, {"Bass", d.u(0.4, 0.8)}, {"Middle", d.u(0.2, 0.7)},
                             {"Treble", d.u(0.4, 0.8)}, {"Presence", d.u(4, 9)}}});
      e.insert.push_back(cabinet(d, kHighGainCabs));
      PluginSetting tighten = eq(d, true, 80, 110, true);
      for (auto& [symbol, value] : tighten.controls)  // cut the mud, lift the bite
        if (symbol == "gain2") value = d.u(-6, -1);
        else if (symbol == "freq2") value = d.u(250, 500);
      e.insert.push_back(tighten);
      return;
    }
  }
}

}  // namespace

StemEffects draw_effects(std::uint64_t seed, const Part& part, const std::string& style) {
  Draw d{Rng::derive(seed, {kEffectsTag})};
  StemEffects e;
  const bool lead = part.role == Role::Guitar && part.guitar_role == GuitarRole::Lead;
  switch (part.role) {
    case Role::Guitar: {
      const Tone tone = guitar_tone(d, part, style);
      guitar_insert(d, tone, e);
      if (tone == Tone::Clean) modulation(d, e, 0.35, 0.12);
      else if (tone == Tone::Acoustic) modulation(d, e, 0.08, 0.0);
      else modulation(d, e, 0.06, 0.04);
      if (d.rng.chance(lead ? 0.55 : tone == Tone::Clean ? 0.3 : 0.15)) delay(d, e);
      const double reverb_p = lead ? 0.8 : tone == Tone::HighGain ? 0.35 : tone == Tone::Crunch ? 0.5 : 0.7;
      if (d.rng.chance(reverb_p)) reverb(d, e, tone == Tone::HighGain ? 1.0 : 1.2, tone == Tone::HighGain ? 1.6 : 2.6);
      // the mix: guitars are high-passed and compressed lightly (the amp already compresses)
      e.mix.push_back(eq(d, false, 70, 130, false));
      if (d.rng.chance(0.5)) e.mix.push_back(compressor(d, false, -18, -8, 1.5, 3));
      break;
    }
    case Role::Bass:
      e.chain = "mix: EQ and compression";
      e.mix.push_back(eq(d, false, 25, 40, true));
      e.mix.push_back(compressor(d, false, -24, -12, 3, 6));
      break;
    case Role::Drums:
      e.chain = "mix: EQ and bus compression";
      e.mix.push_back(eq(d, false, 25, 40, false));
      if (d.rng.chance(0.8)) e.mix.push_back(compressor(d, false, -20, -8, 2, 6));
      break;
    case Role::Lead:
      e.chain = "mix: EQ and compression";
      e.mix.push_back(eq(d, false, 80, 150, false));
      e.mix.push_back(compressor(d, false, -24, -12, 2.5, 5));
      break;
    case Role::Keys:
    case Role::Pad:
      e.chain = "mix: EQ";
      e.mix.push_back(eq(d, false, 40, 150, false));
      if (d.rng.chance(0.4)) e.mix.push_back(compressor(d, false, -20, -10, 1.5, 3));
      break;
  }
  return e;
}

}  // namespace unmix::synth
