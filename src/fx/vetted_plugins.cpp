// The table of vetted LV2 plugins; tests/cpu/test_lv2.cpp checks every deterministic entry.
#include "unmix/fx/vetted_plugins.h"

#include <algorithm>
#include <array>

namespace unmix::fx {

namespace {

constexpr std::string_view kGx = "guitarix-lv2";
constexpr std::string_view kLsp = "lsp-plugins-lv2";
constexpr std::string_view kX42 = "x42-plugins";

constexpr std::array kVetted = {
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gxts9#ts9sim", FxRole::Boost, kGx, true,
                 "Tube Screamer: mid boost and soft clipping"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_bossds1_#_bossds1_", FxRole::Boost, kGx, true,
                 "Boss DS-1 distortion pedal"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gxbooster#booster", FxRole::Boost, kGx, true,
                 "clean bass/treble booster"},

    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_amp#GUITARIX", FxRole::Amp, kGx, true,
                 "18 tube models, 26 tone stacks, built-in cabinet"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_amp_stereo#GUITARIX_ST", FxRole::Amp, kGx, true,
                 "gx_amp for a stereo stem"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_studiopre#studiopre", FxRole::Amp, kGx, true,
                 "clean studio preamp"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_redeye#chump", FxRole::Amp, kGx, true,
                 "small tube amp, crunch"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_redeye#bigchump", FxRole::Amp, kGx, true,
                 "bigger tube amp, crunch"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_redeye#vibrochump", FxRole::Amp, kGx, true,
                 "tube amp with vibrato"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gxmetal_amp#metal_amp", FxRole::Amp, kGx, true, "high gain"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gxmetal_head#metal_head", FxRole::Amp, kGx, true,
                 "high gain head"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_jcm800pre_#_jcm800pre_", FxRole::Amp, kGx, false,
                 "its circuit solver keeps its state in globals shared by every instance in the process"},

    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_cabinet#CABINET", FxRole::Cabinet, kGx, true,
                 "18 cabinet impulse responses"},

    VettedPlugin{"http://lsp-plug.in/plugins/lv2/gate_mono", FxRole::Gate, kLsp, true,
                 "reports latency when given sidechain lookahead"},
    VettedPlugin{"http://lsp-plug.in/plugins/lv2/gate_stereo", FxRole::Gate, kLsp, true,
                 "reports latency when given sidechain lookahead"},

    VettedPlugin{"http://lsp-plug.in/plugins/lv2/para_equalizer_x16_mono", FxRole::Eq, kLsp, true,
                 "16 bands; FIR/FFT modes report latency"},
    VettedPlugin{"http://lsp-plug.in/plugins/lv2/para_equalizer_x16_stereo", FxRole::Eq, kLsp, true,
                 "16 bands; FIR/FFT modes report latency"},
    VettedPlugin{"http://gareus.org/oss/lv2/fil4#mono", FxRole::Eq, kX42, true, "shelves, 4 bells, high/low pass"},
    VettedPlugin{"http://gareus.org/oss/lv2/fil4#stereo", FxRole::Eq, kX42, true, "shelves, 4 bells, high/low pass"},

    VettedPlugin{"http://lsp-plug.in/plugins/lv2/compressor_mono", FxRole::Compressor, kLsp, true,
                 "reports latency when given lookahead"},
    VettedPlugin{"http://lsp-plug.in/plugins/lv2/compressor_stereo", FxRole::Compressor, kLsp, true,
                 "reports latency when given lookahead"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_compressor#_compressor", FxRole::Compressor, kGx, true,
                 "simple feed-forward compressor"},

    VettedPlugin{"http://gareus.org/oss/lv2/dpl#mono", FxRole::Limiter, kX42, true,
                 "look-ahead peak limiter, 56 frames latency at 44.1 kHz"},
    VettedPlugin{"http://gareus.org/oss/lv2/dpl#stereo", FxRole::Limiter, kX42, true,
                 "look-ahead peak limiter, 56 frames latency at 44.1 kHz"},
    VettedPlugin{"http://lsp-plug.in/plugins/lv2/limiter_mono", FxRole::Limiter, kLsp, true,
                 "latency follows its lookahead"},
    VettedPlugin{"http://lsp-plug.in/plugins/lv2/limiter_stereo", FxRole::Limiter, kLsp, true,
                 "latency follows its lookahead"},

    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_chorus_stereo#_chorus_stereo", FxRole::Modulation, kGx, true,
                 "stereo chorus"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_phaser#_phaser", FxRole::Modulation, kGx, true, "phaser"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_flanger#_flanger", FxRole::Modulation, kGx, true,
                 "flanger"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_tremolo#_tremolo", FxRole::Modulation, kGx, true,
                 "tremolo"},

    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_delay_stereo#_delay_stereo", FxRole::Delay, kGx, true,
                 "stereo delay up to 5 s, ping-pong"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_echo_stereo#_echo_stereo", FxRole::Delay, kGx, true,
                 "stereo echo up to 2 s, ping-pong"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_digital_delay_#_digital_delay_", FxRole::Delay, kGx, true,
                 "tempo-synced delay with filters"},
    VettedPlugin{"http://lsp-plug.in/plugins/lv2/slap_delay_mono", FxRole::Delay, kLsp, true,
                 "mono in, stereo out multi-tap delay"},

    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_zita_rev1_stereo#_zita_rev1_stereo", FxRole::Reverb, kGx, true,
                 "zita-rev1 hall"},
    VettedPlugin{"http://guitarix.sourceforge.net/plugins/gx_reverb_stereo#_reverb_stereo", FxRole::Reverb, kGx, true,
                 "Freeverb-style room"},
};

}  // namespace

std::string_view role_name(FxRole role) {
  switch (role) {
    case FxRole::Boost: return "boost";
    case FxRole::Amp: return "amp";
    case FxRole::Cabinet: return "cabinet";
    case FxRole::Gate: return "gate";
    case FxRole::Eq: return "eq";
    case FxRole::Compressor: return "compressor";
    case FxRole::Limiter: return "limiter";
    case FxRole::Modulation: return "modulation";
    case FxRole::Delay: return "delay";
    case FxRole::Reverb: return "reverb";
  }
  return "unknown";
}

std::span<const VettedPlugin> vetted_plugins() { return kVetted; }

const VettedPlugin* find_vetted(std::string_view uri) {
  const auto it = std::find_if(kVetted.begin(), kVetted.end(), [&](const VettedPlugin& p) { return p.uri == uri; });
  return it == kVetted.end() ? nullptr : &*it;
}

std::vector<VettedPlugin> vetted_for(FxRole role, bool include_nondeterministic) {
  std::vector<VettedPlugin> out;
  for (const VettedPlugin& p : kVetted)
    if (p.role == role && (p.deterministic || include_nondeterministic)) out.push_back(p);
  return out;
}

}  // namespace unmix::fx
