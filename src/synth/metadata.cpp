// MedleyDB-schema metadata for a synthesized song, with everything needed to tell how it was made.
#include "unmix/synth/metadata.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "unmix/error.h"
#include "unmix/synth/midi_events.h"

namespace unmix::synth {

namespace {

std::string two_digits(int n) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%02d", n);
  return buffer;
}

// Numbers go out with a fixed format so the file is byte-identical run to run.
std::string number(double x, int digits = 6) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, x);
  return buffer;
}

void emit_reverb_chorus(YAML::Emitter& y, const StemMix& mix) {
  y << YAML::Key << "reverb" << YAML::Value << YAML::Flow << YAML::BeginMap;
  y << YAML::Key << "active" << YAML::Value << mix.reverb;
  if (mix.reverb) {
    y << YAML::Key << "room_size" << YAML::Value << number(mix.reverb_room_size);
    y << YAML::Key << "damping" << YAML::Value << number(mix.reverb_damping);
    y << YAML::Key << "width" << YAML::Value << number(mix.reverb_width);
    y << YAML::Key << "level" << YAML::Value << number(mix.reverb_level);
    y << YAML::Key << "send_cc91" << YAML::Value << mix.reverb_send;
  }
  y << YAML::EndMap;
  y << YAML::Key << "chorus" << YAML::Value << YAML::Flow << YAML::BeginMap;
  y << YAML::Key << "active" << YAML::Value << mix.chorus;
  if (mix.chorus) {
    y << YAML::Key << "voices" << YAML::Value << mix.chorus_voices;
    y << YAML::Key << "level" << YAML::Value << number(mix.chorus_level);
    y << YAML::Key << "speed_hz" << YAML::Value << number(mix.chorus_speed_hz);
    y << YAML::Key << "depth_ms" << YAML::Value << number(mix.chorus_depth_ms);
    y << YAML::Key << "send_cc93" << YAML::Value << mix.chorus_send;
  }
  y << YAML::EndMap;
}

void emit_chain(YAML::Emitter& y, const char* key, const std::vector<PluginSetting>& chain) {
  y << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const PluginSetting& p : chain) {
    y << YAML::BeginMap << YAML::Key << "uri" << YAML::Value << p.uri;
    y << YAML::Key << "controls" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [symbol, value] : p.controls) y << YAML::Key << symbol << YAML::Value << number(value, 6);
    y << YAML::EndMap << YAML::EndMap;
  }
  y << YAML::EndSeq;
}

void emit_effects(YAML::Emitter& y, const StemEffects& e) {
  y << YAML::Key << "effects" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "active" << YAML::Value << !e.empty();
  if (!e.empty()) {
    y << YAML::Key << "chain" << YAML::Value << e.chain;
    y << YAML::Key << "host" << YAML::Value << "LV2 through lilv, 44.1 kHz blocks of 256, fresh instances per stem";
    emit_chain(y, "insert", e.insert);
    emit_chain(y, "send", e.send);
    emit_chain(y, "mix", e.mix);
  }
  y << YAML::EndMap;
}

}  // namespace

std::string mix_filename(const std::string& track) { return track + "_MIX.wav"; }
std::string stem_dir_name(const std::string& track) { return track + "_STEMS"; }
std::string stem_filename(const std::string& track, int number) { return track + "_STEM_" + two_digits(number) + ".wav"; }
std::string metadata_filename(const std::string& track) { return track + "_METADATA.yaml"; }
std::string raw_dir_name(const std::string& track) { return track + "_RAW"; }
std::string raw_filename(const std::string& track, int number) { return track + "_RAW_" + two_digits(number) + "_01.wav"; }

std::string track_metadata_yaml(const SongPlan& plan, const SoundfontSet& fonts, const Mixdown& mixdown) {
  const std::string& track = plan.track_id;
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "album" << YAML::Value << "Synthetic Multitracks";
  y << YAML::Key << "artist" << YAML::Value << plan.artist;
  y << YAML::Key << "composer" << YAML::Value << YAML::BeginSeq << plan.artist << YAML::EndSeq;
  y << YAML::Key << "excerpt" << YAML::Value << YAML::SingleQuoted << "no";
  y << YAML::Key << "genre" << YAML::Value << plan.genre;
  y << YAML::Key << "has_bleed" << YAML::Value << YAML::SingleQuoted << "no";
  y << YAML::Key << "instrumental" << YAML::Value << YAML::SingleQuoted << "yes";
  y << YAML::Key << "mix_filename" << YAML::Value << mix_filename(track);
  y << YAML::Key << "origin" << YAML::Value << "Synthetic";
  y << YAML::Key << "producer" << YAML::Value << YAML::SingleQuoted << "";
  y << YAML::Key << "raw_dir" << YAML::Value << raw_dir_name(track);
  y << YAML::Key << "stem_dir" << YAML::Value << stem_dir_name(track);
  y << YAML::Key << "stems" << YAML::Value << YAML::BeginMap;
  for (std::size_t p = 0; p < plan.parts.size(); ++p) {
    const Part& part = plan.parts[p];
    const int n = static_cast<int>(p) + 1;
    y << YAML::Key << "S" + two_digits(n) << YAML::Value << YAML::BeginMap;
    // MedleyDB writes an empty component as '' and the others bare.
    y << YAML::Key << "component" << YAML::Value;
    if (part.component.empty()) y << YAML::SingleQuoted << "";
    else y << part.component;
    y << YAML::Key << "filename" << YAML::Value << stem_filename(track, n);
    // A guitar is filed by what it sounds like (an amp can make a clean preset distorted).
    const char* label = part.role == Role::Guitar ? guitar_kind_label(part.guitar_kind) : part.instrument.label;
    y << YAML::Key << "instrument" << YAML::Value << label;
    y << YAML::Key << "raw" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "R01" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "filename" << YAML::Value << raw_filename(track, n);
    y << YAML::Key << "instrument" << YAML::Value << label;
    y << YAML::EndMap << YAML::EndMap;

    y << YAML::Key << "synthesis" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "role" << YAML::Value << role_name(part.role);
    if (part.role == Role::Guitar) {
      y << YAML::Key << "guitar_kind" << YAML::Value << guitar_kind_name(part.guitar_kind);
      y << YAML::Key << "guitar_role" << YAML::Value << guitar_role_name(part.guitar_role);
      if (part.double_of >= 0) y << YAML::Key << "double_of" << YAML::Value << "S" + two_digits(part.double_of + 1);
    }
    y << YAML::Key << "soundfont" << YAML::Value << fonts.name(part.soundfont);
    y << YAML::Key << "bank" << YAML::Value << part.instrument.bank;
    y << YAML::Key << "program" << YAML::Value << part.instrument.program;
    y << YAML::Key << "gm_name" << YAML::Value << part.instrument.gm_name;
    y << YAML::Key << "midi_channel" << YAML::Value << part_channel(part) + 1;
    y << YAML::Key << "patterns" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (Pattern pattern : part.pattern_by_section) y << pattern_name(pattern);
    y << YAML::EndSeq;
    if (part.role == Role::Guitar) y << YAML::Key << "fret_position" << YAML::Value << part.fret_position;
    if (part.role == Role::Keys || part.role == Role::Pad || part.role == Role::Lead)
      y << YAML::Key << "register_offset" << YAML::Value << part.register_offset;
    y << YAML::Key << "timing_jitter_ms" << YAML::Value << number(part.timing_jitter_ms, 4);
    y << YAML::Key << "level_db" << YAML::Value << number(part.mix.level_db, 4);
    y << YAML::Key << "render_rms" << YAML::Value << number(mixdown.render_rms.at(p));
    y << YAML::Key << "gain" << YAML::Value << number(mixdown.stem_gain.at(p));
    y << YAML::Key << "pan" << YAML::Value << number(part.mix.pan, 4);
    const auto pan = pan_gains(part.mix.pan);
    y << YAML::Key << "pan_gains" << YAML::Value << YAML::Flow << YAML::BeginSeq << number(pan[0]) << number(pan[1])
      << YAML::EndSeq;
    emit_reverb_chorus(y, part.mix);
    emit_effects(y, part.effects);
    y << YAML::EndMap;  // synthesis
    y << YAML::EndMap;  // SNN
  }
  y << YAML::EndMap;  // stems
  y << YAML::Key << "title" << YAML::Value << plan.title;
  y << YAML::Key << "version" << YAML::Value << "1.2";
  y << YAML::Key << "website" << YAML::Value << YAML::SingleQuoted << "";

  y << YAML::Key << "synthesis" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "generator" << YAML::Value << "unmix synthesize";
  y << YAML::Key << "seed" << YAML::Value << plan.corpus_seed;
  y << YAML::Key << "song_index" << YAML::Value << plan.index;
  y << YAML::Key << "artist_index" << YAML::Value << plan.artist_index;
  y << YAML::Key << "sample_rate" << YAML::Value << plan.sample_rate;
  y << YAML::Key << "frames" << YAML::Value << plan.frames;
  y << YAML::Key << "sample_format" << YAML::Value << "float32, not dithered";
  y << YAML::Key << "style" << YAML::Value << plan.style;
  y << YAML::Key << "guitar_tuning" << YAML::Value << plan.tuning.name;
  y << YAML::Key << "tempo_bpm" << YAML::Value << number(plan.bpm);
  y << YAML::Key << "time_signature" << YAML::Value << std::to_string(plan.beats_per_bar) + "/4";
  y << YAML::Key << "swing" << YAML::Value << number(plan.swing, 4);
  y << YAML::Key << "key" << YAML::Value << pitch_class_name(plan.key);
  y << YAML::Key << "mode" << YAML::Value << mode_name(plan.mode);
  y << YAML::Key << "sections" << YAML::Value << YAML::BeginSeq;
  for (const Section& section : plan.sections)
    y << YAML::Flow << YAML::BeginMap << YAML::Key << "kind" << YAML::Value << section_name(section.kind) << YAML::Key
      << "first_bar" << YAML::Value << section.first_bar << YAML::Key << "bars" << YAML::Value << section.bars
      << YAML::Key << "intensity" << YAML::Value << number(section.intensity, 3) << YAML::EndMap;
  y << YAML::EndSeq;
  y << YAML::Key << "chords" << YAML::Value << YAML::BeginSeq;
  for (const ChordSpan& span : plan.chords)
    y << YAML::Flow << YAML::BeginMap << YAML::Key << "beat" << YAML::Value << number(span.start_beat) << YAML::Key
      << "beats" << YAML::Value << number(span.beats) << YAML::Key << "chord" << YAML::Value << span.chord.symbol
      << YAML::EndMap;
  y << YAML::EndSeq;
  y << YAML::Key << "level_reference" << YAML::Value << "level_db 0 = active RMS of -20 dBFS before mix_scale";
  y << YAML::Key << "pan_law" << YAML::Value << "constant-power balance, unity at centre";
  y << YAML::Key << "stem_scaling" << YAML::Value
    << "stem = level(send/mix chains(pan(insert chain(render at -20 dBFS)))) * mix_scale (* bus gain when mastered); "
       "level: active RMS at level_db re -20 dBFS";
  y << YAML::Key << "mix" << YAML::Value << "float32 sum of the stems in stem order";
  y << YAML::Key << "target_peak" << YAML::Value << number(plan.target_peak);
  y << YAML::Key << "mix_scale" << YAML::Value << number(mixdown.mix_scale);
  y << YAML::Key << "mix_peak" << YAML::Value << number(mixdown.mix_peak);
  y << YAML::Key << "mastering" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "active" << YAML::Value << plan.master.active;
  if (plan.master.active) {
    const MasterSettings& m = plan.master;
    const MasterResult& r = mixdown.master;
    y << YAML::Key << "method" << YAML::Value
      << "one stereo-linked gain curve (glue compressor x makeup x look-ahead limiter) computed from the mix and "
         "multiplied into every stem, so the stems still sum to the mix";
    y << YAML::Key << "target_lufs" << YAML::Value << number(m.target_lufs, 6);
    y << YAML::Key << "lufs_before" << YAML::Value << number(r.lufs_before, 6);
    y << YAML::Key << "lufs" << YAML::Value << number(r.lufs_after, 7);
    y << YAML::Key << "ceiling_dbfs" << YAML::Value << number(m.ceiling_db, 7);
    y << YAML::Key << "peak" << YAML::Value << number(r.peak);
    y << YAML::Key << "makeup_db" << YAML::Value << number(r.makeup_db, 4);
    y << YAML::Key << "compressor" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "threshold_db_over_loudness"
      << YAML::Value << number(m.comp_threshold_db, 4) << YAML::Key << "ratio" << YAML::Value << number(m.comp_ratio, 4)
      << YAML::Key << "knee_db" << YAML::Value << number(m.comp_knee_db, 4) << YAML::Key << "attack_ms" << YAML::Value
      << number(m.comp_attack_ms, 4) << YAML::Key << "release_ms" << YAML::Value << number(m.comp_release_ms, 4)
      << YAML::Key << "max_reduction_db" << YAML::Value << number(r.max_compression_db, 4) << YAML::EndMap;
    y << YAML::Key << "limiter" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "lookahead_ms" << YAML::Value
      << number(m.limiter_lookahead_ms, 4) << YAML::Key << "release_ms" << YAML::Value << number(m.limiter_release_ms, 4)
      << YAML::Key << "max_reduction_db" << YAML::Value << number(r.max_limiting_db, 4) << YAML::EndMap;
  }
  y << YAML::EndMap;
  y << YAML::EndMap;  // synthesis
  y << YAML::EndMap;
  if (!y.good()) fail(plan.track_id, "cannot write the metadata: " + y.GetLastError());
  return std::string(y.c_str()) + "\n";
}

}  // namespace unmix::synth
