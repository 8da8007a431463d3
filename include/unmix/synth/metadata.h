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

// The metadata YAML in MedleyDB's schema (version 1.2 fields: artist, title, genre, has_bleed,
// mix_filename, stem_dir, stems.SNN.{component, filename, instrument, raw}, ...), plus a `synthesis`
// block for the song (seed, tempo, key, form, chords, mix scale) and one per stem (role, soundfont,
// preset, gain, pan, reverb, chorus, patterns). RAW files are not written; each stem lists itself as
// its single raw track so the schema stays complete.
std::string track_metadata_yaml(const SongPlan& plan, const SoundfontSet& fonts, const Mixdown& mixdown);

}  // namespace unmix::synth
