#pragma once
// MedleyDB layout and metadata for a synthesized song:
//   <Track>/<Track>_MIX.wav, <Track>/<Track>_STEMS/<Track>_STEM_NN.wav, <Track>/<Track>_METADATA.yaml
#include <string>

#include "unmix/synth/mixdown.h"
#include "unmix/synth/song_plan.h"
#include "unmix/synth/soundfonts.h"

namespace unmix::synth {

std::string mix_filename(const std::string& track);               // <Track>_MIX.wav
std::string stem_dir_name(const std::string& track);              // <Track>_STEMS
std::string stem_filename(const std::string& track, int number);  // <Track>_STEM_NN.wav (from 1)
std::string metadata_filename(const std::string& track);          // <Track>_METADATA.yaml
std::string raw_dir_name(const std::string& track);               // <Track>_RAW
std::string raw_filename(const std::string& track, int number);   // <Track>_RAW_NN_01.wav (from 1)

// The metadata YAML in MedleyDB's schema (version 1.2 fields: artist, title, genre, has_bleed,
// mix_filename, stem_dir, stems.SNN.{component, filename, instrument, raw}, ...), plus a `synthesis`
// block for the song (seed, tempo, key, form, chords, mix scale) and one per stem (role, soundfont,
// preset, gain, pan, reverb, chorus, patterns, effects chain). Each stem lists its dry render as its single
// raw track; the RAW files are written only when asked (CorpusOptions::raw).
std::string track_metadata_yaml(const SongPlan& plan, const SoundfontSet& fonts, const Mixdown& mixdown);

}  // namespace unmix::synth
